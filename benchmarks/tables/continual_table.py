"""Issue 7 table: every continual strategy on split digits and split MNIST for two presets.

Runs the ``continual`` kind from examples/continual_split_digits.toml with overrides, into
runs/tables/continual_<data>_<preset>/ (table + accuracy-matrix plot each), and prints one markdown
table. Usage: .venv/bin/python benchmarks/tables/continual_table.py [--mnist-train N]
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from pathlib import Path

import torch

from memlearn.experiments.kinds import continual

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mnist-train", type=int, default=3000)
    parser.add_argument("--presets", nargs="+", default=["ReRAM_SB", "TaOx_HfOx"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    base = tomllib.loads((ROOT / "examples" / "continual_split_digits.toml").read_text())
    lines = ["| data | device | strategy | avg acc | forgetting | BWT | FWT | pulses | write energy (J) |", "|" + "---|" * 9]
    out = {}
    for data in ({"name": "digits"}, {"name": "mnist", "n_train": args.mnist_train, "n_test": 2000}):
        for preset in args.presets:
            cfg = dict(base, data=data, device={"preset": preset})
            run_dir = ROOT / "runs" / "tables" / f"continual_{data['name']}_{preset}"
            run_dir.mkdir(parents=True, exist_ok=True)
            summary = continual.run(cfg, run_dir, lambda rec: None, int(cfg.get("seed", 0)))
            for name, s in summary["strategies"].items():
                lines.append(f"| {data['name']} | {preset} | {name} | {s['average_accuracy']:.3f} | {s['forgetting']:.3f} | "
                             f"{s['backward_transfer']:.3f} | {s['forward_transfer']:.3f} | {s['pulses']} | {s['write_energy']:.3g} |")
                out[f"{data['name']}/{preset}/{name}"] = s
            print("\n".join(lines[-len(summary["strategies"]):]), file=sys.stderr, flush=True)
    print("\n".join(lines))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
