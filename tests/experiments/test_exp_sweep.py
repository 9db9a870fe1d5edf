"""Sweeps: local pool and a real Dask LocalCluster give identical results; killed workers, crashing
and hanging trials are recorded and retried."""

from __future__ import annotations

import os
import signal
import threading
import time

import psutil
import pytest

from memlearn.experiments.sweep import read_results, run_sweep

from .helpers import blobs_config, same_results

RESULT_COLUMNS = ("trial_id", "seed", "learning.lr", "status", "test_accuracy", "train_loss", "pulses", "energy")


def _sweep_file(tmp_path, body: str) -> str:
    base = blobs_config(tmp_path, epochs=2)
    path = tmp_path / "sweep.toml"
    path.write_text(f'name = "two"\nbase = "{base.name}"\n' + body)
    return path


TWO_POINTS = """
seeds = 1
timeout = 600
[set]
"train.float_baseline" = false
[axes]
"learning.lr" = [0.5, 1.0]
"""


def _table(rows):
    return sorted(tuple(r.get(c) for c in RESULT_COLUMNS) for r in rows)


def _kill_a_busy_worker(folder, stop: threading.Event) -> int | None:
    """SIGKILL the Dask worker process that runs a trial of ``folder`` once the trial is training."""
    while not stop.is_set():
        for proc in psutil.process_iter(["cmdline"]):
            cmd = proc.info["cmdline"] or []
            if "memlearn.experiments.trial" in cmd and cmd[-1].startswith(str(folder)):
                trial_dir = cmd[-1]
                if os.path.exists(os.path.join(trial_dir, "metrics.jsonl")):
                    worker = proc.ppid()
                    os.kill(worker, signal.SIGKILL)
                    return worker
        time.sleep(0.05)
    return None


@pytest.mark.timeout(900)
def test_local_pool_and_dask_cluster_identical_even_when_a_worker_dies(tmp_path):
    from distributed import LocalCluster

    spec = _sweep_file(tmp_path, TWO_POINTS)
    local = run_sweep(spec, workers=2, sweeps_dir=tmp_path / "local", progress=False)
    assert local.summary["n_ok"] == 2 and (local.folder / "results.parquet").exists()
    assert (local.folder / "results.csv").exists() and (local.folder / "fig_tradeoff.png").exists()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        dask = run_sweep(spec, scheduler=cluster.scheduler_address, sweeps_dir=tmp_path / "dask", progress=False)
        same_results(_table(dask.rows), _table(local.rows))

        # Kill the worker running a trial mid-training; the sweep goes on and, after at most one
        # re-run (which retries only what failed), ends with the same table.
        folder = tmp_path / "killed" / "two"
        stop = threading.Event()
        killed: list = []
        killer = threading.Thread(target=lambda: killed.append(_kill_a_busy_worker(folder, stop)))
        killer.start()
        try:
            first = run_sweep(spec, scheduler=cluster.scheduler_address, sweeps_dir=tmp_path / "killed", progress=False)
        finally:
            stop.set()
            killer.join()
        assert killed and killed[0] is not None, "no worker was killed"
        assert first.summary["n_ok"] + first.summary["n_failed"] == 2
        for row in first.rows:
            if row["status"] != "ok":
                assert "worker" in row["error"].lower() or "killed" in row["error"].lower(), row["error"]
        final = run_sweep(spec, scheduler=cluster.scheduler_address, sweeps_dir=tmp_path / "killed", progress=False)
        assert final.summary["n_skipped"] == first.summary["n_ok"]
    same_results(_table(final.rows), _table(local.rows))


@pytest.mark.timeout(600)
def test_crashing_and_hanging_trials_are_recorded_and_only_they_retried(tmp_path, monkeypatch):
    spec = _sweep_file(tmp_path, """
seeds = 1
timeout = 600
[set]
"train.float_baseline" = false
"train.epochs" = 1
[axes]
"model.hidden" = [[4], [0]]
""")
    first = run_sweep(spec, workers=2, sweeps_dir=tmp_path / "s", progress=False)
    by_hidden = {r["model.hidden"]: r for r in first.rows}
    assert by_hidden["[4]"]["status"] in ("ok", "at_chance")  # a result (1 epoch may not learn), not a failure
    assert by_hidden["[0]"]["status"] == "failed" and "model.hidden[0]=0" in by_hidden["[0]"]["error"]
    assert (first.folder / "table_failed.md").exists()
    again = run_sweep(spec, workers=2, sweeps_dir=tmp_path / "s", progress=False)
    assert again.summary["n_skipped"] == 1 and again.summary["n_failed"] == 1
    assert len(read_results(first.folder)) == 2

    hang = tmp_path / "hang.toml"
    hang.write_text(spec.read_text().replace("timeout = 600", "timeout = 2").replace('"two"', '"hang"')
                    .replace('[[4], [0]]', '[[4]]'))
    # The trial stops for good inside its first metrics write (the test-only hang point), so it
    # times out whatever its start-up time.
    monkeypatch.setenv("MEMLEARN_KILL_AT", "metrics.jsonl:1:hang")
    timed_out = run_sweep(hang, workers=1, sweeps_dir=tmp_path / "s", progress=False)
    assert timed_out.rows[0]["status"] == "failed" and "timeout" in timed_out.rows[0]["error"]


def test_sweep_config_errors(tmp_path):
    from memlearn.experiments.schema import ConfigError

    bad = _sweep_file(tmp_path, '[axes]\n"learning.lr" = []\n')
    with pytest.raises(ConfigError, match="lists no values"):
        run_sweep(bad, sweeps_dir=tmp_path / "s", progress=False)
    bad.write_text(bad.read_text().replace("[axes]", "workers = 3\n[axes]"))
    with pytest.raises(ConfigError, match="unknown field 'workers'"):
        run_sweep(bad, sweeps_dir=tmp_path / "s", progress=False)
