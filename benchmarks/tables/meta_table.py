"""Issue 8 table (few-shot): 5-way 1-shot / 5-shot after on-chip adaptation, meta-trained vs random
init, ideal vs presets vs float adaptation, pulses per episode.

Runs the ``meta`` kind of examples/meta_digits.toml into runs/tables/meta_digits/ and prints its table.
Usage: .venv/bin/python benchmarks/tables/meta_table.py
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import torch

from memlearn.experiments.kinds import meta

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    torch.set_num_threads(1)
    cfg = tomllib.loads((ROOT / "examples" / "meta_digits.toml").read_text())
    run_dir = ROOT / "runs" / "tables" / "meta_digits"
    run_dir.mkdir(parents=True, exist_ok=True)
    meta.run(cfg, run_dir, lambda rec: None, int(cfg.get("seed", 0)))
    print((run_dir / "table_meta.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
