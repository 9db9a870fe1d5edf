"""Device x rule table: test accuracy after a fixed epoch budget for every device preset and rule.

    .venv/bin/python benchmarks/tables/device_rule_table.py --dataset digits
    .venv/bin/python benchmarks/tables/device_rule_table.py --dataset mnist --n-train 60000 --epochs 10

Digits: 64-32-10 tanh MLP (sklearn digits, 1,347 train / 450 test). MNIST: 784-256-128-10 tanh MLP
(``../shared/data/mnist``; ``--n-train`` / ``--n-test`` subsample it). Every cell trains the same
network from the same initial weights with ``AnalogSGD`` (lr 0.1, batch 10), the rule named by its
column and the preset named by its row (``memlearn.devices.presets``, weights in +-1 as in
NeuroSim); the float row is the same network trained with ``torch.optim.SGD``. Writes the markdown
table to stdout and to ``bench-results/device_rule_table_<dataset>.md`` (+ ``.json``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from memlearn.datasets import load_digits, load_mnist
from memlearn.devices.presets import get_preset, list_presets
from memlearn.experiments.training import build_mlp, evaluate, train_epoch
from memlearn.nn.tile import TileConfig
from memlearn.rules import AnalogSGD, Manhattan, MixedPrecision, StochasticPulse, TikiTaka

ROOT = Path(__file__).resolve().parents[2]
RULES = {
    "stochastic": lambda: StochasticPulse(),
    "manhattan": lambda: Manhattan(),
    "mixed_precision": lambda: MixedPrecision(),
    # Eight columns per transfer: a full sweep of A every 8 (digits) to 98 (MNIST) updates, so a
    # short epoch budget transfers every column many times (one column per update, the paper's
    # setting, sweeps a 784-input layer only every 784 updates).
    "tiki_taka": lambda: TikiTaka(columns_per_transfer=8, transfer_lr=0.5),
}


def train_cell(data, sizes, preset: str | None, rule: str | None, epochs: int, lr: float = 0.1,
               batch_size: int = 10, seed: int = 0) -> dict:
    """Train one cell; ``preset=None`` is the float baseline."""
    if preset is None:
        model = build_mlp(sizes, "tanh", None, seed=seed, analog=False)
        opt = torch.optim.SGD(model.parameters(), lr=lr)
    else:
        model = build_mlp(sizes, "tanh", TileConfig(device=get_preset(preset)), seed=seed)
        opt = AnalogSGD(model, lr=lr, rule=RULES[rule]())
    order = torch.Generator().manual_seed(seed)
    t = time.perf_counter()
    pulses = 0
    for _ in range(epochs):
        train_epoch(model, opt, data.x_train, data.y_train, batch_size, order)
        if preset is not None:
            pulses += opt.accounting()["pulses"]
    return {"accuracy": evaluate(model, data.x_test, data.y_test), "seconds": time.perf_counter() - t,
            "pulses": pulses}


def markdown(rows: dict, rules: list[str], title: str) -> str:
    head = f"### {title}\n\n| device | " + " | ".join(rules) + " | mean |\n|---|" + "---|" * (len(rules) + 1) + "\n"
    lines = []
    for name, cells in rows.items():
        accs = [cells[r]["accuracy"] for r in rules if r in cells]
        if name == "float (software)":
            lines.append(f"| {name} | " + " | ".join(f"{100 * cells['sgd']['accuracy']:.1f}" for _ in rules) + " | - |")
            continue
        lines.append(f"| {name} | " + " | ".join(f"{100 * cells[r]['accuracy']:.1f}" if r in cells else "-" for r in rules)
                     + f" | {100 * sum(accs) / max(len(accs), 1):.1f} |")
    return head + "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["digits", "mnist"], default="digits")
    parser.add_argument("--epochs", type=int, default=None, help="default: 10 (digits), 2 (mnist)")
    parser.add_argument("--n-train", type=int, default=None, help="MNIST training subset (default 4000)")
    parser.add_argument("--n-test", type=int, default=None, help="MNIST test subset (default 2000)")
    parser.add_argument("--presets", default="all", help="comma-separated preset names")
    parser.add_argument("--rules", default=",".join(RULES), help="comma-separated rules")
    parser.add_argument("--tag", default="", help="suffix of the output file names")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.dataset == "digits":
        data, sizes, epochs = load_digits(), (64, 32, 10), args.epochs or 10
        setting = f"sklearn digits, 64-32-10 tanh, {epochs} epochs, batch 10, lr 0.1"
    else:
        n_train, n_test = args.n_train or 4000, args.n_test or 2000
        data, sizes, epochs = load_mnist(n_train=n_train, n_test=n_test), (784, 256, 128, 10), args.epochs or 2
        setting = f"MNIST ({n_train} train / {n_test} test images), 784-256-128-10 tanh, {epochs} epochs, batch 10, lr 0.1"
    presets = [p.name for p in list_presets()] if args.presets == "all" else args.presets.split(",")
    rules = args.rules.split(",")
    rows: dict[str, dict] = {"float (software)": {"sgd": train_cell(data, sizes, None, None, epochs)}}
    print(f"float: {rows['float (software)']['sgd']}", file=sys.stderr, flush=True)
    for preset in presets:
        rows[preset] = {}
        for rule in rules:
            rows[preset][rule] = train_cell(data, sizes, preset, rule, epochs)
            print(f"{preset} {rule}: {rows[preset][rule]}", file=sys.stderr, flush=True)
    table = markdown(rows, rules, f"Device x rule test accuracy (%): {setting}")
    ranking = sorted((p for p in presets), key=lambda p: -sum(c["accuracy"] for c in rows[p].values()))
    table += "\nDevices ranked by mean accuracy over rules: " + " > ".join(ranking) + "\n"
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / f"device_rule_table_{args.dataset}{args.tag}.md").write_text(table)
    (out / f"device_rule_table_{args.dataset}{args.tag}.json").write_text(json.dumps({"setting": setting, "rows": rows}, indent=1))
    print(table)


if __name__ == "__main__":
    main()
