"""Relaxation cost of equilibrium propagation vs a backprop step of the same network, vs depth.

For 64-(64 x depth)-10 networks at initialisation, on a fixed digits batch: free/nudged sweeps to
converge (tol 1e-3) and CPU time per sample of one EP update (free + two nudged phases + the
pulsed update on ideal tiles; and with float weights), next to one backprop step (forward,
backward, SGD) of the float twin. Medians of 5 runs of process CPU time (robust to other jobs on
shared cores), one thread. Last stdout line: one JSON object.

    .venv/bin/python benchmarks/bench_eqprop.py            # the literature setting (issue 17), then the depth table
    .venv/bin/python benchmarks/bench_eqprop.py --literature-only --batches=50 --repeats=3

The literature setting (issue 17): 784-500-10 on real MNIST (``../shared/data/mnist``), batch 20, at most
20 free / 4 nudged exact block sweeps (tol 1e-3), symmetric beta 0.5, layer rates 0.1 / 0.05; EP on the
``ideal`` chip with stochastic pulses against float EP, each training ``--batches`` consecutive batches
(default 50) from the same initial network, the two interleaved repeat by repeat (``--repeats``, default 5);
wall seconds per batch, medians, their ratio and the implied seconds per 60,000-image epoch.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

import torch

from memlearn.datasets import load_digits
from memlearn.devices.device import Device
from memlearn.devices.responses.ideal import Ideal
from memlearn.eqprop import (EPConfig, EnergyNetwork, EquilibriumPropagation, NudgeConfig, RelaxConfig, backprop_twin,
                             one_hot, train_epoch_ep)
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


def _arg(name: str, default: str) -> str:
    return next((a.split("=", 1)[1] for a in sys.argv if a.startswith(f"--{name}=")), default)


def literature() -> dict:
    """Ideal chip vs float EP per batch at Scellier & Bengio's 784-500-10 setting, interleaved."""
    from memlearn.datasets import load_mnist
    from memlearn.devices.presets import get_preset
    from memlearn.rules import StochasticPulse

    torch.set_num_threads(1)
    n_batches, repeats = int(_arg("batches", "50")), int(_arg("repeats", "5"))
    data = load_mnist(n_train=20 * n_batches, n_test=10)
    cfg = EPConfig(free=RelaxConfig(max_steps=20, tol=1e-3), nudged=RelaxConfig(max_steps=4, tol=1e-3),
                   nudge=NudgeConfig(beta=0.5, mode="symmetric"))
    times: dict[str, list[float]] = {"float": [], "chip": []}
    for _ in range(repeats):
        for name in ("float", "chip"):
            net = (EnergyNetwork([784, 500, 10], seed=0, analog=False) if name == "float"
                   else EnergyNetwork([784, 500, 10], TileConfig(device=get_preset("ideal")), seed=0))
            ep = EquilibriumPropagation(net, cfg, (0.1, 0.05), rule=None if name == "float" else StochasticPulse())
            ep.step(data.x_train[:20], one_hot(data.y_train[:20], 10), torch.Generator().manual_seed(1))  # warm-up
            g = torch.Generator().manual_seed(0)
            t0 = time.perf_counter()
            train_epoch_ep(ep, data.x_train, data.y_train, 20, g)
            times[name].append((time.perf_counter() - t0) / n_batches)
    med = {k: statistics.median(v) for k, v in times.items()}
    out = {"setting": "784-500-10, batch 20, 20/4 sweeps tol 1e-3, symmetric beta 0.5, lr 0.1/0.05, ideal preset, "
                      "StochasticPulse", "batches": n_batches, "repeats": repeats,
           "float_s_per_batch": med["float"], "chip_s_per_batch": med["chip"], "chip_vs_float": med["chip"] / med["float"],
           "ratios_per_repeat": [c / f for c, f in zip(times["chip"], times["float"])],
           "float_s_per_epoch_60k": 3000 * med["float"], "chip_s_per_epoch_60k": 3000 * med["chip"]}
    print(f"literature setting: float EP {1e3 * med['float']:.1f} ms/batch, ideal chip {1e3 * med['chip']:.1f} ms/batch, "
          f"chip / float {out['chip_vs_float']:.2f} (per repeat: {', '.join(f'{r:.2f}' for r in out['ratios_per_repeat'])})")
    return out


def main() -> None:
    lit = literature()
    if "--literature-only" in sys.argv:
        print(json.dumps({"literature": lit}))
        return
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
    print(json.dumps({"literature": lit, "batch": BATCH, "repeats": REPEATS, "threads": 1, "tol": 1e-3, "rows": rows}))


if __name__ == "__main__":
    main()
