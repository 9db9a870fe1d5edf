"""Pulsed update of a 1024x1024 soft-bounds array with cycle-to-cycle noise vs one 1024^3 matmul.

Issue 2 asks: applying a random signed pulse-count matrix (|n| <= 31) to a 1024x1024 soft-bounds
array with cycle-to-cycle noise takes less time than one float32 1024x1024x1024 matmul on the
same machine, measured in the same run. Prints one JSON object (last stdout line) with medians
over interleaved repeats (so both see the same machine load) of
(a) ``Device.pulse`` with every device pulsed, |n| <= 31;
(b) the same with 1% of the devices pulsed (small-batch training: the sparse path);
(c) the same with half the devices pulsed (the dense path with many n = 0, which once hit a slow
    ``sqrt(0)`` path on CPU);
(d) one float32 (1024x1024) @ (1024x1024) matmul;
as wall-clock and as thread CPU time (robust to other processes on a shared machine), and the
ratios (a)/(d), (b)/(d), (c)/(d) of the medians. ``paired_ratio_pulse_over_matmul`` is the median
over repeats of (a)/(d) measured back to back, which cancels most of the drift in the load of a
shared machine. One thread unless MEMLEARN_BENCH_THREADS says otherwise.
"""

from __future__ import annotations

import json
import os
import statistics
import time

import torch

from memlearn.devices import Device, SoftBounds

SIZE = 1024
MAX_PULSES = 31
REPEATS = 31


def main() -> dict:
    threads = int(os.environ.get("MEMLEARN_BENCH_THREADS", "1"))
    torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(0)
    device = Device(response=SoftBounds(g_min=1e-6, g_max=1e-5, n_pulses=400, asymmetry=0.05,
                                        sigma_c2c=0.005, d2d_step=0.1, d2d_bounds=0.05))
    state = device.sample((SIZE, SIZE), gen)
    g = (state.g_min + state.g_max) / 2
    n_dense = torch.randint(-MAX_PULSES, MAX_PULSES + 1, (SIZE, SIZE), generator=gen, dtype=torch.int32)
    keep = torch.rand((SIZE, SIZE), generator=gen) < 0.01
    n_sparse = torch.where(keep, n_dense, torch.zeros_like(n_dense))
    n_half = torch.where(torch.rand((SIZE, SIZE), generator=gen) < 0.5, n_dense, torch.zeros_like(n_dense))
    a = torch.randn(SIZE, SIZE, generator=gen)
    b = torch.randn(SIZE, SIZE, generator=gen)
    cases = {
        "pulse_dense": lambda: device.pulse(g, n_dense, state, gen),
        "pulse_sparse_1pct": lambda: device.pulse(g, n_sparse, state, gen),
        "pulse_half_pulsed": lambda: device.pulse(g, n_half, state, gen),
        "matmul_1024": lambda: a @ b,
    }
    wall = {k: [] for k in cases}
    cpu = {k: [] for k in cases}
    for fn in cases.values():
        fn()  # warm-up
    for _ in range(REPEATS):
        for name, fn in cases.items():
            w0, c0 = time.perf_counter(), time.thread_time()
            fn()
            cpu[name].append(time.thread_time() - c0)
            wall[name].append(time.perf_counter() - w0)
    med = lambda xs: statistics.median(xs) * 1e3
    out = {"threads": threads, "array": f"{SIZE}x{SIZE}", "repeats": REPEATS,
           "load_average_1min": round(os.getloadavg()[0], 2)}
    for name in cases:
        out[f"{name}_ms"] = round(med(wall[name]), 3)
        out[f"{name}_cpu_ms"] = round(med(cpu[name]), 3)
    for kind, suffix in (("", "_ms"), ("cpu_", "_cpu_ms")):
        out[f"{kind}ratio_pulse_over_matmul"] = round(out[f"pulse_dense{suffix}"] / out[f"matmul_1024{suffix}"], 3)
        out[f"{kind}ratio_sparse_over_matmul"] = round(out[f"pulse_sparse_1pct{suffix}"] / out[f"matmul_1024{suffix}"], 3)
        out[f"{kind}ratio_half_over_matmul"] = round(out[f"pulse_half_pulsed{suffix}"] / out[f"matmul_1024{suffix}"], 3)
    out["paired_ratio_pulse_over_matmul"] = round(statistics.median(
        p / m for p, m in zip(wall["pulse_dense"], wall["matmul_1024"])), 3)
    out["target"] = "ratio_pulse_over_matmul < 1"
    return out


if __name__ == "__main__":
    print(json.dumps(main()))
