"""Relaxation cost of equilibrium propagation vs a backprop step of the same network, vs depth.

For 64-(64 x depth)-10 networks at initialisation, on a fixed digits batch: free/nudged sweeps to
converge (tol 1e-3) and CPU time per sample of one EP update (free + two nudged phases + the
pulsed update on ideal tiles; and with float weights), next to one backprop step (forward,
backward, SGD) of the float twin. Medians of 5 runs of process CPU time (robust to other jobs on
shared cores), one thread. Last stdout line: one JSON object.

    .venv/bin/python benchmarks/bench_eqprop.py
"""

from __future__ import annotations

import json
import statistics
import time

import torch

from memlearn.datasets import load_digits
from memlearn.devices.device import Device
from memlearn.devices.responses.ideal import Ideal
from memlearn.eqprop import (EPConfig, EnergyNetwork, EquilibriumPropagation, NudgeConfig, RelaxConfig, backprop_twin,
                             one_hot)
from memlearn.nn.tile import TileConfig
from memlearn.rules import DeterministicPulse

BATCH, REPEATS, DEPTHS = 32, 5, (1, 2, 3, 4)


def _median_time(fn) -> float:
    times = []
    for _ in range(REPEATS):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return statistics.median(times)


def main() -> None:
    torch.set_num_threads(1)
    data = load_digits()
    x, y = data.x_train[:BATCH], data.y_train[:BATCH]
    t = one_hot(y, 10)
    cfg = EPConfig(free=RelaxConfig(max_steps=200, tol=1e-3), nudged=RelaxConfig(max_steps=100, tol=1e-3),
                   nudge=NudgeConfig(beta=0.5, mode="symmetric"))
    rows = []
    for depth in DEPTHS:
        sizes = [64] + [64] * depth + [10]
        row: dict = {"depth": depth, "sizes": sizes}
        for name, analog in (("ep_analog", True), ("ep_float", False)):
            # a fresh network per repeat keeps the measured steps those of the initial weights
            nets = [EnergyNetwork(sizes, TileConfig(device=Device(response=Ideal(states=1000))), seed=0, analog=analog)
                    for _ in range(REPEATS + 1)]
            learners = iter([EquilibriumPropagation(n, cfg, 0.1, rule=DeterministicPulse() if analog else None)
                             for n in nets])
            info: dict = {}
            g = torch.Generator().manual_seed(0)
            info = next(learners).step(x, t, g)  # warm-up, and the step counts
            row[f"{name}_s_per_sample"] = _median_time(lambda: next(learners).step(x, t, g)) / BATCH
            row["free_sweeps"], row["nudged_sweeps"] = info["free_steps"], info["nudged_steps"]
        twin = backprop_twin(EnergyNetwork(sizes, seed=0, analog=False))
        opt = torch.optim.SGD(twin.parameters(), lr=0.1)

        def bp_step() -> None:
            loss = 0.5 * ((twin(x) - t) ** 2).sum(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()

        bp_step()
        row["backprop_s_per_sample"] = _median_time(bp_step) / BATCH
        row["ep_analog_vs_backprop"] = row["ep_analog_s_per_sample"] / row["backprop_s_per_sample"]
        row["ep_float_vs_backprop"] = row["ep_float_s_per_sample"] / row["backprop_s_per_sample"]
        rows.append(row)
    print("| hidden layers | free sweeps | nudged sweeps (mean of +-beta) | EP on ideal tiles, us/sample | "
          "EP float, us/sample | backprop float, us/sample | EP tiles / BP | EP float / BP |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['depth']} | {r['free_sweeps']:.1f} | {r['nudged_sweeps']:.1f} | {1e6 * r['ep_analog_s_per_sample']:.0f} | "
              f"{1e6 * r['ep_float_s_per_sample']:.0f} | {1e6 * r['backprop_s_per_sample']:.1f} | "
              f"{r['ep_analog_vs_backprop']:.0f}x | {r['ep_float_vs_backprop']:.0f}x |")
    print(json.dumps({"batch": BATCH, "repeats": REPEATS, "threads": 1, "tol": 1e-3, "rows": rows}))


if __name__ == "__main__":
    main()
