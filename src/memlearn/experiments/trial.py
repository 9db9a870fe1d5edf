"""One sweep trial, run as its own process so that a hang can be killed and a crash is contained.

:func:`run_trial` is the function both executors (local thread pool and Dask workers) call: it
starts ``python -m memlearn.experiments.trial TRIAL_DIR`` with a time limit and turns whatever
happens (success, exception, divergence, timeout, killed process) into one results row. This
module imports only the standard library at import time, so Dask workers stay light.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

SUMMARY_COLUMNS = ("test_accuracy", "float_test_accuracy", "train_loss", "pulses", "energy", "n_devices",
                   "max_pulses_per_device")
"""Scalar summary fields copied into the results table (others stay in each trial's summary.json)."""


def run_trial(spec: dict) -> dict:
    """Run one trial described by ``spec`` and return its results row (never raises for trial failures).

    ``spec``: ``trial_id``, ``trial_dir`` (holding ``trial.toml``), ``timeout`` (s), ``point``
    (axis values), ``seed``. The row has ``status`` ok | diverged | failed and ``error`` (reason).
    """
    trial_dir = Path(spec["trial_dir"])
    row = {"trial_id": spec["trial_id"], "seed": spec["seed"], **spec["point"], "status": "failed", "error": ""}
    started = time.time()
    log_path = trial_dir / "trial.log"
    cmd = [sys.executable, "-m", "memlearn.experiments.trial", str(trial_dir)]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    try:
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
            try:
                rc = proc.wait(timeout=spec["timeout"])
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                row["error"] = f"timeout: exceeded its time limit of {spec['timeout']} s"
                return _finish(row, started)
    except OSError as exc:
        row["error"] = f"could not start the trial process: {exc}"
        return _finish(row, started)
    if rc < 0:
        row["error"] = f"trial process killed by signal {signal.Signals(-rc).name}"
        return _finish(row, started)
    summary_path = trial_dir / "summary.json"
    if rc in (0, 3) and summary_path.exists():
        summary = json.loads(summary_path.read_text())
        row["status"] = summary.get("status", "failed")
        row["error"] = summary.get("reason", "") if row["status"] != "ok" else ""
        for key in SUMMARY_COLUMNS:
            value = summary.get(key)
            row[key] = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        return _finish(row, started)
    row["error"] = _last_error(log_path) or f"trial process exited with code {rc}"
    return _finish(row, started)


def _finish(row: dict, started: float) -> dict:
    row["wall_time_s"] = round(time.time() - started, 3)
    return row


def _last_error(log_path: Path) -> str:
    try:
        lines = [l for l in log_path.read_text(errors="replace").splitlines() if l.strip()]
    except OSError:
        return ""
    for line in reversed(lines):
        if line.startswith("error:") or "Error" in line.split(":")[0]:
            return line[:500]
    return lines[-1][:500] if lines else ""


def _watch_parent() -> None:
    """Exit when the process that started us dies (a killed Dask worker must not leave orphans)."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(70)
            time.sleep(0.2)

    threading.Thread(target=watch, daemon=True).start()


def main(argv: list[str]) -> int:
    """``python -m memlearn.experiments.trial TRIAL_DIR``: run (or resume) the trial in that folder."""
    import fcntl

    _watch_parent()
    trial_dir = Path(argv[0])
    # One process per trial folder at a time: a retry waits for an orphan of a killed worker to exit
    # (the run itself then takes the folder's own non-blocking lock, .lock).
    lock = open(trial_dir / ".trial.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    from memlearn.experiments.lock import FolderLockedError
    from memlearn.experiments.runner import run_experiment
    from memlearn.experiments.schema import ConfigError
    from memlearn.experiments.storage import CorruptFileError

    try:
        result = run_experiment(trial_dir / "trial.toml", run_dir=trial_dir, progress=False)
    except (ConfigError, CorruptFileError, FileNotFoundError, FolderLockedError) as exc:
        print(f"error: {exc}", flush=True)
        return 2
    return 0 if result.ok else 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
