"""Training throughput of the on-chip rules: 784-256-128-10 tanh MLP, batch 10, one thread.

For each rule: samples/s of a full training step (forward, backward, pulsed update) on the
``ReRAM_SB`` preset (soft bounds, c2c noise, device-to-device spread), median of ``--repeats``
timed runs of ``--batches`` mini-batches, beside the float baseline (``nn.Linear`` + SGD) measured
in the same run. ``coding_ms`` is the time of the pulse coding alone (bit streams and coincidence
matrix products of the three layers, per batch): the rest of the update is the devices' write
path (``Crossbar.apply_pulses``). Prints one JSON object as its last line.

    .venv/bin/python benchmarks/bench_rules.py [--batches 30] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from memlearn.devices.presets import get_preset
from memlearn.experiments.training import build_mlp, train_epoch
from memlearn.nn.tile import TileConfig
from memlearn.periphery.pulse_coding import stochastic_counts
from memlearn.rules import AnalogSGD, Manhattan, MixedPrecision, StochasticPulse, TikiTaka

SIZES = (784, 256, 128, 10)
RULES = {
    "stochastic_batched": lambda: StochasticPulse(),
    "stochastic_per_sample": lambda: StochasticPulse(per_sample=True),
    "manhattan": lambda: Manhattan(),
    "mixed_precision": lambda: MixedPrecision(),
    "tiki_taka": lambda: TikiTaka(symmetry_cycles=10),
}


def throughput(make, x, y, batches: int, repeats: int) -> float:
    times = []
    for r in range(repeats):
        model, opt = make()
        train_epoch(model, opt, x[:20], y[:20], 10, torch.Generator().manual_seed(r))  # warm-up
        t = time.perf_counter()
        train_epoch(model, opt, x, y, 10, torch.Generator().manual_seed(r))
        times.append(time.perf_counter() - t)
    return len(x) / statistics.median(times)


def coding_ms(x: torch.Tensor, repeats: int) -> float:
    g = torch.Generator().manual_seed(0)
    shapes = list(zip(SIZES[:-1], SIZES[1:]))
    xs = [x[:10]] + [torch.rand(10, n_in, generator=g) * 2 - 1 for n_in, _ in shapes[1:]]
    ds = [torch.randn(10, n_out, generator=g) * 0.01 for _, n_out in shapes]
    times = []
    for _ in range(max(repeats, 5)):
        t = time.perf_counter()
        for xi, di in zip(xs, ds):
            stochastic_counts(xi, di, 0.1, 0.005, 31, g)
        times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    n = 10 * args.batches
    x = (torch.rand(n, SIZES[0], generator=g) < 0.2).float() * torch.rand(n, SIZES[0], generator=g)  # MNIST-like sparsity
    y = torch.randint(0, 10, (n,), generator=g)
    cfg = TileConfig(device=get_preset("ReRAM_SB"), array_size=(1024, 1024))

    def float_model():
        model = build_mlp(SIZES, "tanh", None, seed=0, analog=False)
        return model, torch.optim.SGD(model.parameters(), lr=0.1)

    result = {"network": "784-256-128-10", "batch_size": 10, "device": "ReRAM_SB", "threads": 1,
              "float_samples_per_s": round(throughput(float_model, x, y, args.batches, args.repeats), 1)}
    for name, rule in RULES.items():
        def analog_model(rule=rule):
            model = build_mlp(SIZES, "tanh", cfg, seed=0)
            return model, AnalogSGD(model, lr=0.1, rule=rule())
        sps = throughput(analog_model, x, y, args.batches, args.repeats)
        result[f"{name}_samples_per_s"] = round(sps, 1)
        result[f"{name}_time_vs_float"] = round(result["float_samples_per_s"] / sps, 2)
    result["stochastic_coding_ms_per_batch"] = round(coding_ms(x, args.repeats), 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
