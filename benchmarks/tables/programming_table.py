"""Issue 8 table (programming): write-verify vs the learned programmer on whole arrays of each preset.

Runs the ``programming`` kind of examples/programming_presets.toml into runs/tables/programming/ and
prints its table. Usage: .venv/bin/python benchmarks/tables/programming_table.py
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import torch

from memlearn.experiments.kinds import programming

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    torch.set_num_threads(1)
    cfg = tomllib.loads((ROOT / "examples" / "programming_presets.toml").read_text())
    run_dir = ROOT / "runs" / "tables" / "programming"
    run_dir.mkdir(parents=True, exist_ok=True)
    programming.run(cfg, run_dir, lambda rec: None, int(cfg.get("seed", 0)))
    print((run_dir / "table_programming.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
