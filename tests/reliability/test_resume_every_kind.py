"""Every kind resumes (issue 19, row 4) and learns: SIGKILL inside a deterministic write, resume,
byte-identical ``metrics.jsonl`` and ``summary.json``; the killed writer's temp file (row 5) is removed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from memlearn.experiments.runner import run_experiment
from memlearn.experiments.storage import KILL_ENV, read_jsonl

sys.path.insert(0, str(Path(__file__).parent))
from tiny_kinds import KINDS, MARGIN, learned_accuracy, write_config  # noqa: E402


def _killed_run(cfg: Path, runs: Path, point: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", **{KILL_ENV: point})
    return subprocess.run([sys.executable, "-m", "memlearn.cli", "run", str(cfg), "--runs-dir", str(runs),
                           "--no-progress"], env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("kind", KINDS)
def test_kind_killed_in_a_checkpoint_write_resumes_byte_identical_and_learns(tmp_path, kind):
    cfg = write_config(tmp_path, kind)
    ref = run_experiment(cfg, runs_dir=tmp_path / "ref", progress=False)
    accuracy, chance = learned_accuracy(kind, ref.summary)
    assert ref.summary["status"] == "ok", ref.summary.get("reason")
    assert accuracy >= chance + MARGIN, f"{kind} learned only {accuracy:.3f} (chance {chance:.3f})"

    # Killed inside its second checkpoint write, after the temp file is complete, before the rename.
    proc = _killed_run(cfg, tmp_path / "runs", "checkpoint.pt:2:before")
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    folder = tmp_path / "runs" / cfg.stem
    stale = [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
    assert stale and all(name.startswith(".checkpoint.pt.") for name in stale)
    assert not (folder / "summary.json").exists()

    resumed = run_experiment(resume=folder, progress=False)
    assert resumed.summary == ref.summary
    for name in ("metrics.jsonl", "summary.json"):
        assert (folder / name).read_bytes() == (ref.run_dir / name).read_bytes(), name
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
    assert (folder / "run.json").read_text().count('".checkpoint.pt.') == 1  # the removal is recorded
    # Wall-clock figures live in timings.jsonl, never in the reproducible files.
    for record in read_jsonl(folder / "metrics.jsonl"):
        assert not [k for k in record if k.endswith("_seconds") or k.endswith("_s")], record
