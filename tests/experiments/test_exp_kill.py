"""SIGKILL a running `memlearn run` at random points; `--resume` must end with the same result."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest

from memlearn.experiments.runner import run_experiment

from .helpers import blobs_config, same_run_files

MAX_KILLS = 3


def _start(args, cwd):
    return subprocess.Popen([sys.executable, "-m", "memlearn.cli", "run", *args, "--no-progress"], cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _run_with_kills(cfg, folder, tmp_path, rng, max_delay):
    """Start a run, SIGKILL it up to MAX_KILLS times at random instants after training has
    started, resume it each time; return how many kills landed."""
    kills = 0
    proc = _start([str(cfg), "--runs-dir", str(tmp_path / "runs")], tmp_path)
    while True:
        if kills < MAX_KILLS:
            # Wait until training has visibly started, then kill at a random later instant.
            deadline = time.time() + 120
            while proc.poll() is None and not (folder / "metrics.jsonl").exists() and time.time() < deadline:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, max_delay))
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                kills += 1
        rc = proc.wait(timeout=300)
        if rc == 0:
            return kills
        assert rc == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
        proc = _start(["--resume", str(folder)], tmp_path)


@pytest.mark.timeout(600)
def test_sigkill_then_resume_gives_the_uninterrupted_result(tmp_path):
    cfg = blobs_config(tmp_path, name="tiny", epochs=8)
    t0 = time.perf_counter()
    reference = run_experiment(cfg, runs_dir=tmp_path / "ref", progress=False)
    # Kill within the span of training (measured, so a fast quiet machine still gets killed mid-run).
    max_delay = 0.7 * (time.perf_counter() - t0)
    folder = tmp_path / "runs" / "tiny"
    rng = random.Random(1234)
    for _ in range(6):
        kills = _run_with_kills(cfg, folder, tmp_path, rng, max_delay)
        if kills:
            break
        # The run outpaced every kill: start afresh with shorter delays.
        shutil.rmtree(folder)
        max_delay /= 3
    assert kills >= 1
    same_run_files(folder, reference.run_dir)
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
