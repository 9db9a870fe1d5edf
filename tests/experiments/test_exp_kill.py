"""SIGKILL a running `memlearn run` at deterministic write points (the MEMLEARN_KILL_AT hook: no
random sleeps), resuming after each kill; the run must end with the uninterrupted result."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from memlearn.experiments.runner import run_experiment
from memlearn.experiments.storage import KILL_ENV

from .helpers import blobs_config, same_run_files

# A kill inside a checkpoint write (temp file complete, not yet renamed), one right after a rename,
# and one in the middle of a metrics line (a torn tail), each in a later process than the last.
KILLS = ("checkpoint.pt:2:before", "checkpoint.pt:2:after", "metrics.jsonl:4:before")


def _cli(args, cwd, kill=None):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop(KILL_ENV, None)
    if kill:
        env[KILL_ENV] = kill
    return subprocess.run([sys.executable, "-m", "memlearn.cli", "run", *args, "--no-progress"], cwd=cwd, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=600)


@pytest.mark.timeout(600)
def test_sigkill_then_resume_gives_the_uninterrupted_result(tmp_path):
    cfg = blobs_config(tmp_path, name="tiny", epochs=6)
    reference = run_experiment(cfg, runs_dir=tmp_path / "ref", progress=False)
    folder = tmp_path / "runs" / "tiny"
    proc = _cli([str(cfg), "--runs-dir", str(tmp_path / "runs")], tmp_path, KILLS[0])
    for nxt in (*KILLS[1:], None):
        assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
        proc = _cli(["--resume", str(folder)], tmp_path, nxt)
    assert proc.returncode == 0, proc.stderr[-2000:]
    same_run_files(folder, reference.run_dir)
    assert (folder / "metrics.jsonl").read_bytes() == (reference.run_dir / "metrics.jsonl").read_bytes()
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
