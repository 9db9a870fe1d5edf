"""NeuroSim V3.0 on-chip training table (MLP+NeuroSim V3.0 manual, Sec. 9, Table II), reproduced.

    .venv/bin/python benchmarks/tables/neurosim_table.py            # the published 125 epochs
    .venv/bin/python benchmarks/tables/neurosim_table.py --epochs 5 # a shorter budget (say so)

Setting: 400-100-10 MLP on MNIST cropped to 20x20 (``load_mnist(crop=20, n_train=8000)``), the
10,000 test images, weights in [-1, 1] (differential pair, ``w_max = 1``), pulsed
updates (``StochasticPulse`` by default, ``--rule deterministic`` for NeuroSim's rounded pulses),
batch size and learning rate from the flags.
One row per NeuroSim device preset (``memlearn.devices.presets``: exponential LTP/LTD curves
with the table's nonlinearity, levels, on/off ratio and cycle-to-cycle sigma) beside the
published accuracy. Writes markdown to stdout and ``bench-results/neurosim_table.md`` (+ .json).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from memlearn.crossbar.mapping import DifferentialMapping, ReferenceColumnMapping
from memlearn.datasets import load_mnist
from memlearn.devices.presets import get_preset
from memlearn.experiments.training import build_mlp, evaluate, train_epoch
from memlearn.nn.tile import TileConfig
from memlearn.rules import AnalogSGD, DeterministicPulse, StochasticPulse

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = {  # MLP+NeuroSim V3.0 user manual, Table II (on-chip accuracy after 125 epochs)
    "Ag_aSi": 72.0, "TaOx_HfOx": 80.0, "PCMO": 33.0, "AlOx_HfO2": 20.0,
    "GST_PCM": 89.0, "EpiRAM": 92.0, "HZO_FeFET": 88.0,
}
SOFTWARE = "96-97"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=125)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--activation", default="tanh")
    # Stochastic pulses by default: at batch 10 and lr 0.1 most rounded (deterministic) updates of
    # these 32-128-level devices are below half a step and vanish (HZO_FeFET, PCMO and AlOx_HfO2
    # stay at chance after one epoch), while stochastic pulses keep them in expectation.
    parser.add_argument("--rule", choices=["deterministic", "stochastic"], default="stochastic")
    parser.add_argument("--n-test", type=int, default=10000)
    # NeuroSim's analog synapse is one device per weight, w = -1 + 2 (G - Gmin) / (Gmax - Gmin)
    # (MLP+NeuroSim V3.0): our reference-column mapping with w_max = 1 (--mapping reference). It
    # reproduces PCMO's collapse but also collapses Ag:a-Si over 125 epochs (28% vs 72%), so the
    # default stays the push-pull differential pair, whose 125-epoch table is closer overall (see
    # docs/learning.md); which other detail of NeuroSim's training loop explains the rest is open.
    parser.add_argument("--mapping", choices=["reference", "differential"], default="differential")
    parser.add_argument("--tag", default="", help="suffix of the output files in bench-results/")
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = load_mnist(crop=20, n_train=8000, n_test=args.n_test, seed=0)
    sizes = (400, 100, 10)

    def run(preset: str | None) -> dict:
        if preset is None:
            model = build_mlp(sizes, args.activation, None, seed=0, analog=False)
            opt = torch.optim.SGD(model.parameters(), lr=args.lr)
        else:
            mapping = (ReferenceColumnMapping(w_max=1.0) if args.mapping == "reference"
                       else DifferentialMapping(w_max=1.0))
            model = build_mlp(sizes, args.activation, TileConfig(device=get_preset(preset), mapping=mapping), seed=0)
            rule = DeterministicPulse() if args.rule == "deterministic" else StochasticPulse()
            opt = AnalogSGD(model, lr=args.lr, rule=rule)
        order = torch.Generator().manual_seed(0)
        t = time.perf_counter()
        for _ in range(args.epochs):
            train_epoch(model, opt, data.x_train, data.y_train, args.batch_size, order)
        out = {"accuracy": evaluate(model, data.x_test, data.y_test), "seconds": time.perf_counter() - t}
        print(f"{preset or 'software'}: {out}", file=sys.stderr, flush=True)
        return out

    rows = {"software": run(None)}
    for preset in PUBLISHED:
        rows[preset] = run(preset)
    setting = (f"400-100-10 {args.activation} MLP, MNIST 20x20 crop, 8,000 train / {len(data.y_test)} test images, "
               f"{args.epochs} epochs (NeuroSim: 125), batch {args.batch_size}, lr {args.lr}, {args.rule} pulses, "
               f"{args.mapping} mapping")
    lines = [f"### NeuroSim V3.0 Table II, reproduced: {setting}", "",
             "| device | NeuroSim (published) | memlearn | difference (pp) |", "|---|---|---|---|",
             f"| software | {SOFTWARE} | {100 * rows['software']['accuracy']:.1f} | - |"]
    for preset, pub in PUBLISHED.items():
        acc = 100 * rows[preset]["accuracy"]
        lines.append(f"| {preset} | {pub:.0f} | {acc:.1f} | {acc - pub:+.1f} |")
    order_pub = sorted(PUBLISHED, key=lambda p: -PUBLISHED[p])
    order_ours = sorted(PUBLISHED, key=lambda p: -rows[p]["accuracy"])
    lines += ["", "Published order: " + " > ".join(order_pub), "memlearn order:  " + " > ".join(order_ours)]
    table = "\n".join(lines) + "\n"
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / f"neurosim_table{args.tag}.md").write_text(table)
    (out / f"neurosim_table{args.tag}.json").write_text(json.dumps({"setting": setting, "rows": rows, "published": PUBLISHED}, indent=1))
    print(table)


if __name__ == "__main__":
    main()
