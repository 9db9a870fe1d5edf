"""Continual learning in three scenarios, float twins beside chip rows (issue 22).

Part ``protocol`` (float): split MNIST as van de Ven & Tolias, "Three scenarios for continual
learning", arXiv:1904.07734 (2019): the full 60k / 10k MNIST of ``../shared/data/mnist`` in five
tasks of two digits, 784-400-400 ReLU MLP, Adam lr 1e-3, batch 128, ``--iterations`` per task
(2000 in the paper), strategies none / EWC / SI (their lambda and c per scenario) / exact replay
(100 samples per class); task-, domain- and class-incremental. The paper's figures are printed beside.

Part ``chip``: split digits (1,347 / 450), 64-32-10 tanh MLP, on the chip (``--preset``,
deterministic pulses, lr 0.1, batch 16, 2 epochs per task: the continual kind's defaults) with the
chip strategies (naive, EWC / SI pulse gating with strength 20, replay 100 samples), and its float
twin: the same network, data, initial weights' distribution and steps (plain SGD lr 0.1, batch 16,
2 epochs per task) with the digital strategies (EWC lambda 100, SI c 1: :data:`SGD_TWIN_STRENGTH`;
replay 10 per class = the chip's 100 samples).

Every row is printed to stderr when it is done; a markdown table and one JSON line last on stdout.

    nice -n 10 .venv/bin/python benchmarks/tables/continual_table.py [--parts protocol chip] [--iterations 2000]

Run time (2026-12-02, shared 2-core machine under load ~18, one thread): ``--parts chip`` 3-5 min (180 s and 300 s in two runs).
``--parts protocol`` was not run to the end (12 runs x 10k Adam steps of a 0.5M-parameter MLP: about
an hour of a free core; it advanced at ~10% of a core there).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time

import torch

from memlearn.continual.float_twin import (VAN_DE_VEN_STRENGTH, FloatStrategy, FloatTraining, mlp,
                                           run_float_stream)
from memlearn.continual.metrics import average_accuracy, forgetting
from memlearn.continual.streams import split_tasks

SCENARIOS = ("task_incremental", "domain_incremental", "class_incremental")

PUBLISHED = {  # van de Ven & Tolias 2019, Table 2 (split MNIST, average test accuracy %, mean of 20 runs)
    "task_incremental": {"none": 87.19, "ewc": 98.64, "si": 99.09},
    "domain_incremental": {"none": 59.21, "ewc": 63.95, "si": 65.36},
    "class_incremental": {"none": 19.90, "ewc": 20.01, "si": 19.99},
}
"""The paper's figures; its replay rows are generative (DGR), so exact replay has no published twin here."""

CHIP_TO_FLOAT = {"naive": "none", "ewc": "ewc", "si": "si", "replay": "replay"}

SGD_TWIN_STRENGTH = {"ewc": 100.0, "si": 1.0}
"""EWC lambda / SI c of the chip's float twin (plain SGD, lr 0.1): the largest powers of ten at which
its training stays stable on split digits (lambda 1e3 / c 10 diverge: the penalty's curvature
``lr * lambda * F`` passes 2). van de Ven's values (1e5 .. 1e10) assume Adam's scale-free steps."""


def _row(part: str, data: str, scenario: str, strategy: str, twin: str, r: torch.Tensor, seconds: float) -> dict:
    row = {"part": part, "data": data, "scenario": scenario, "strategy": strategy, "twin": twin,
           "average_accuracy": 100 * average_accuracy(r), "forgetting": 100 * forgetting(r), "seconds": seconds,
           "accuracy_matrix": r.tolist()}
    ref = PUBLISHED.get(scenario, {}).get(strategy) if part == "protocol" else None
    row["published"] = ref
    print(json.dumps({k: v for k, v in row.items() if k != "accuracy_matrix"}), file=sys.stderr, flush=True)
    return row


def protocol(iterations: int, strategies: list[str], scenarios: list[str], seed: int) -> list[dict]:
    from memlearn.datasets import load_mnist

    data = load_mnist()
    rows = []
    for scenario in scenarios:
        stream = split_tasks(data, 2, scenario)
        for name in strategies:
            t0 = time.perf_counter()
            strength = VAN_DE_VEN_STRENGTH[scenario].get(name, 1.0)
            r = run_float_stream(mlp([784, 400, 400, stream.n_classes], seed), stream,
                                 FloatStrategy(name=name, strength=strength, budget_per_class=100),
                                 FloatTraining(iterations=iterations), torch.Generator().manual_seed(seed))
            rows.append(_row("protocol", "mnist", scenario, name, "float", r, time.perf_counter() - t0))
    return rows


def chip(preset: str, strategies: list[str], scenarios: list[str], seed: int) -> list[dict]:
    from memlearn.continual import ChipPhysics, StrategyConfig, StreamTraining, run_stream
    from memlearn.datasets import load_digits
    from memlearn.experiments import registry
    from memlearn.experiments.training import build_mlp

    data = load_digits()
    tile = registry.build_tile_config({"device": {"preset": preset}})
    rule = registry.build_rule({"rule": "deterministic"})
    training = StreamTraining(epochs=2, batch_size=16, lr=0.1)
    rows = []
    for scenario in scenarios:
        stream = split_tasks(data, 2, scenario)
        sizes = [64, 32, stream.n_classes]
        steps = 2 * -(-len(stream.tasks[0].y_train) // 16)  # 2 epochs of batch 16 (tasks have ~270 samples)
        for name in strategies:
            t0 = time.perf_counter()
            strategy = StrategyConfig(name=name, strength=20.0, replay_capacity=100)
            result = run_stream(build_mlp(sizes, "tanh", tile, seed=seed), stream, rule, strategy, training,
                                ChipPhysics(idle_time=86400.0), torch.Generator().manual_seed(seed))
            rows.append(_row("chip", "digits", scenario, name, preset, result.accuracy, time.perf_counter() - t0))
            t0 = time.perf_counter()
            fname = CHIP_TO_FLOAT[name]
            r = run_float_stream(mlp(sizes, seed, "tanh"), stream,
                                 FloatStrategy(name=fname, strength=SGD_TWIN_STRENGTH.get(fname, 1.0),
                                               budget_per_class=10),
                                 FloatTraining(iterations=steps, batch_size=16, lr=0.1, optimizer="sgd"),
                                 torch.Generator().manual_seed(seed))
            rows.append(_row("chip", "digits", scenario, name, "float", r, time.perf_counter() - t0))
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["| part | data | scenario | strategy | chip / float | avg acc (%) | published (%) | forgetting (pp) | s |",
             "|" + "---|" * 9]
    for r in rows:
        ref = "" if r["published"] is None else f"{r['published']:.1f}"
        lines.append(f"| {r['part']} | {r['data']} | {r['scenario'].split('_')[0]} | {r['strategy']} | {r['twin']} | "
                     f"{r['average_accuracy']:.1f} | {ref} | {r['forgetting']:.1f} | {r['seconds']:.0f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parts", nargs="+", default=["protocol", "chip"], choices=["protocol", "chip"])
    parser.add_argument("--iterations", type=int, default=2000, help="protocol: steps per task (paper: 2000)")
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=SCENARIOS)
    parser.add_argument("--strategies", nargs="+", default=["none", "ewc", "si", "replay"])
    parser.add_argument("--preset", default="ReRAM_SB")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows: list[dict] = []
    t0 = time.perf_counter()
    if "protocol" in args.parts:
        rows += protocol(args.iterations, args.strategies, args.scenarios, args.seed)
    if "chip" in args.parts:
        chip_names = [{"none": "naive"}.get(s, s) for s in args.strategies]
        rows += chip(args.preset, chip_names, args.scenarios, args.seed)
    print(markdown(rows))
    print(json.dumps({"iterations": args.iterations, "seconds": time.perf_counter() - t0, "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
