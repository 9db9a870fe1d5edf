"""One test per row of issue 19's table (row 10, ``devices fit``, belongs to the data engineer)."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from memlearn.experiments.config import dump_toml, load_toml
from memlearn.experiments.lock import FolderLock, FolderLockedError, create_fresh_dir
from memlearn.experiments.runner import RESOLVED, run_experiment
from memlearn.experiments.schema import ConfigError
from memlearn.experiments.storage import CorruptFileError, load_checkpoint, save_checkpoint

sys.path.insert(0, str(Path(__file__).parents[1] / "experiments"))
from helpers import blobs_config  # noqa: E402


class _Payload:
    """Unpickling this runs ``os.system`` (the attack of row 1)."""

    def __init__(self, mark: Path) -> None:
        self.mark = mark

    def __reduce__(self):
        return (os.system, (f"touch {self.mark}",))


def _crafted(path: Path, mark: Path) -> None:
    torch.save({"epoch": 0, "x": _Payload(mark)}, path)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """One finished tiny run (blobs, 2 epochs) that tests copy and damage."""
    tmp = tmp_path_factory.mktemp("done")
    return run_experiment(blobs_config(tmp, name="done", epochs=2), runs_dir=tmp / "runs", progress=False)


def _copy(finished, tmp_path) -> Path:
    import shutil

    dst = tmp_path / "copy"
    shutil.copytree(finished.run_dir, dst)
    return dst


# Row 1: a crafted checkpoint is refused unread, with no side effect.
def test_row1_crafted_checkpoint_is_refused_without_running_it(tmp_path, finished):
    mark = tmp_path / "MARK"
    folder = _copy(finished, tmp_path)
    _crafted(folder / "checkpoint.pt", mark)
    with pytest.raises(CorruptFileError, match=r"checkpoint\.pt holds objects other than tensors"):
        run_experiment(resume=folder, progress=False)
    assert not mark.exists()
    with pytest.raises(CorruptFileError, match="refused unread"):
        load_checkpoint(folder / "checkpoint.pt")
    assert not mark.exists()
    # numpy values are saved as tensors, so a real checkpoint loads with weights_only=True
    import numpy as np

    save_checkpoint(tmp_path / "ok.pt", {"epoch": 1, "g": {"0": np.ones(3, dtype=np.float32)}, "s": np.float64(2.0)})
    ck = load_checkpoint(tmp_path / "ok.pt")
    assert torch.equal(ck["g"]["0"], torch.ones(3)) and ck["s"] == 2.0


# Row 2: a sweep name cannot leave --sweeps-dir (the run-name rule applies to sweeps).
@pytest.mark.parametrize("name", ["../../X", "/tmp/abs", "..", "a/b"])
def test_row2_sweep_names_follow_the_run_name_rule(tmp_path, name):
    from memlearn.experiments.sweep import run_sweep

    spec = tmp_path / "sweep.toml"
    spec.write_text(f'name = {json.dumps(name)}\nbase = {{name = "x", train = {{epochs = 1}}}}\n')
    with pytest.raises(ConfigError, match="name=.*letters, digits"):
        run_sweep(spec, sweeps_dir=tmp_path / "sweeps", progress=False)
    assert not (tmp_path / "sweeps").exists() or not any((tmp_path / "sweeps").iterdir())
    assert not (tmp_path / "X").exists()


def _claim(args):
    parent, barrier = args
    barrier.wait()
    return str(create_fresh_dir(Path(parent), "same"))


# Row 3: same-name runs never share a folder; a second writer is refused naming the holder.
def test_row3_fresh_folders_are_claimed_atomically(tmp_path):
    n = 8
    with multiprocessing.Manager() as manager:
        barrier = manager.Barrier(n)
        with multiprocessing.get_context("fork").Pool(n) as pool:
            folders = pool.map(_claim, [(str(tmp_path), barrier)] * n)
    assert len(set(folders)) == n
    assert sorted(Path(f).name for f in folders) == sorted(["same"] + [f"same-{i}" for i in range(2, n + 1)])


def test_row3_second_writer_refused_and_dead_holder_taken_over(tmp_path, finished):
    folder = _copy(finished, tmp_path)
    with FolderLock(folder):
        with pytest.raises(FolderLockedError, match=f"being written by process {os.getpid()}"):
            run_experiment(resume=folder, progress=False)
    # A lock file left by a dead process (no flock held) is taken over, and that is recorded.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (folder / ".lock").write_text(dead.stdout)
    lock = FolderLock(folder).acquire()
    assert lock.previous_pid == int(dead.stdout) and (folder / ".lock").read_text().strip() == str(os.getpid())
    lock.release()


def test_row3_two_cli_runs_at_once_end_in_two_folders(tmp_path):
    cfg = blobs_config(tmp_path, name="twin", epochs=1)
    runs = tmp_path / "runs"
    procs = [subprocess.Popen([sys.executable, "-m", "memlearn.cli", "run", str(cfg), "--runs-dir", str(runs),
                               "--no-progress", "--json", "--set", f"seed={s}"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
             for s in (1, 2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode in (0, 3) for p in procs), [o[1][-800:] for o in outs]
    summaries = [json.loads(o[0].strip().splitlines()[-1]) for o in outs]
    assert sorted(s["seed"] for s in summaries) == [1, 2]
    folders = sorted(p.name for p in runs.iterdir())
    assert folders == ["twin", "twin-2"]
    for f in folders:
        seed = json.loads((runs / f / "summary.json").read_text())["seed"]
        assert load_toml(runs / f / RESOLVED)["seed"] == seed
        epochs = [json.loads(l)["epoch"] for l in (runs / f / "metrics.jsonl").read_text().splitlines()
                  if "test_accuracy" in l]
        assert epochs == [1]


# Row 5: a writer killed in a write leaves a temp file or a torn line; resume cleans up and ends equal.
@pytest.mark.parametrize("point", ["metrics.jsonl:2:before", "checkpoint.pt:1:before", "summary.json:1:after"])
def test_row5_killed_writes_are_cleaned_up_on_resume(tmp_path, finished, point):
    cfg = blobs_config(tmp_path, name="done", epochs=2)
    env = dict(os.environ, OMP_NUM_THREADS="1", MEMLEARN_KILL_AT=point)
    proc = subprocess.run([sys.executable, "-m", "memlearn.cli", "run", str(cfg), "--runs-dir", str(tmp_path / "runs"),
                           "--no-progress"], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == -9, proc.stderr[-1500:]
    folder = tmp_path / "runs" / "done"
    resumed = run_experiment(resume=folder, progress=False)
    assert resumed.summary == finished.summary
    for name in ("metrics.jsonl", "summary.json"):
        assert (folder / name).read_bytes() == (finished.run_dir / name).read_bytes()
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_row5_killed_before_the_config_was_recorded_says_so(tmp_path):
    cfg = blobs_config(tmp_path, name="early", epochs=1)
    env = dict(os.environ, OMP_NUM_THREADS="1", MEMLEARN_KILL_AT="config.resolved.toml:1:before")
    proc = subprocess.run([sys.executable, "-m", "memlearn.cli", "run", str(cfg), "--runs-dir", str(tmp_path / "runs"),
                           "--no-progress"], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == -9
    with pytest.raises(FileNotFoundError, match="killed before its config was recorded"):
        run_experiment(resume=tmp_path / "runs" / "early", progress=False)
    assert not [p.name for p in (tmp_path / "runs" / "early").iterdir() if p.name.endswith(".tmp")]


# Row 6: resume refuses a metrics.jsonl that lost or changed records.
@pytest.mark.parametrize("damage", ["delete", "cut", "edit"])
def test_row6_resume_verifies_metrics_against_the_checkpoint(tmp_path, finished, damage):
    folder = _copy(finished, tmp_path)
    metrics = folder / "metrics.jsonl"
    lines = metrics.read_bytes().splitlines(keepends=True)
    if damage == "delete":
        metrics.unlink()
    elif damage == "cut":
        metrics.write_bytes(b"".join(lines[:2]))
    else:
        metrics.write_bytes(lines[0].replace(b"0", b"1", 1) + b"".join(lines[1:]))
    with pytest.raises(CorruptFileError, match="metrics.jsonl"):
        run_experiment(resume=folder, progress=False)


# Row 7: divergence and chance-level results are never "ok"; overflowing rates are config errors.
@pytest.mark.parametrize(("override", "status", "what"), [
    ("train.float_lr=1e20", "diverged", "float baseline loss"),
    ("learning.lr=1e25", "diverged", "training loss"),
    ("crossbar.adc={bits = 8, output_range = 1e-30}", "adc_saturated", "crossbar.adc.output_range"),
])
def test_row7_divergence_and_chance_are_not_ok(tmp_path, override, status, what):
    cfg = blobs_config(tmp_path, name="bad", epochs=1)
    result = run_experiment(cfg, runs_dir=tmp_path / "runs", overrides=[override], progress=False)
    assert result.summary["status"] == status and what in result.summary["reason"], result.summary
    assert any(w in result.summary["reason"] for w in ("lower", "check", "raise"))  # the fix


@pytest.mark.parametrize("override", ["learning.lr=1e300", "train.float_lr=1e38", "learning.lr=inf"])
def test_row7_overflowing_learning_rates_are_config_errors(tmp_path, override):
    cfg = blobs_config(tmp_path, name="lr", epochs=1)
    with pytest.raises(ConfigError, match=r"lr=.*must be a finite number in \(0, 1e\+30\]"):
        run_experiment(cfg, runs_dir=tmp_path / "runs", overrides=[override], progress=False)
    assert not (tmp_path / "runs" / "lr").exists()


def test_row7_eqprop_runaway_is_diverged(tmp_path):
    sys.path.insert(0, str(Path(__file__).parent))
    from tiny_kinds import write_config

    cfg = write_config(tmp_path, "eqprop")
    result = run_experiment(cfg, runs_dir=tmp_path / "runs", progress=False,
                            overrides=["learning.lr=1e6", "train.epochs=1", "data.n_train=60"])
    assert result.summary["status"] in ("diverged", "at_chance"), result.summary


# Row 8: a failed start leaves no folder behind.
def test_row8_failed_start_leaves_no_folder(tmp_path):
    cfg = blobs_config(tmp_path, name="fail", epochs=1)
    with pytest.raises(ConfigError, match="kind"):
        run_experiment(cfg, runs_dir=tmp_path / "runs", overrides=["kind=foo"], progress=False)
    not_npz = tmp_path / "not.npz"
    not_npz.write_text("not an npz file")
    with pytest.raises(Exception):
        run_experiment(cfg, runs_dir=tmp_path / "runs", overrides=[f"data.path={not_npz}"], progress=False)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


# Row 9: numbers are numbers.
@pytest.mark.parametrize(("override", "field"), [
    ('device.n_pulses="400"', "n_pulses"),
    ("train.epochs=true", "train.epochs"),
    ('train.batch_size="16"', "train.batch_size"),
    ('learning.lr="0.1"', "learning.lr"),
    ('crossbar.adc={bits = "8"}', "bits"),
])
def test_row9_strings_and_bools_are_not_numbers(tmp_path, override, field):
    cfg = blobs_config(tmp_path, name="num", epochs=1)
    with pytest.raises(ConfigError, match=field):
        run_experiment(cfg, runs_dir=tmp_path / "runs", overrides=[override], progress=False)


# Row 11: the smaller ones.
def test_row11_sweep_exits_nonzero_when_a_trial_failed(tmp_path):
    from typer.testing import CliRunner

    from memlearn.cli import app

    base = blobs_config(tmp_path, name="base", epochs=1)
    spec = tmp_path / "sweep.toml"
    spec.write_text(f'name = "fails"\nbase = "{base.name}"\n[axes]\n"model.hidden" = [[0]]\n')
    result = CliRunner().invoke(app, ["sweep", str(spec), "--sweeps-dir", str(tmp_path / "s"), "--no-progress"])
    assert result.exit_code == 3, result.output
    assert "1 failed" in result.output


def test_row11_checkpoint_of_another_model_is_a_clear_error(tmp_path, finished):
    folder = _copy(finished, tmp_path)
    ck = torch.load(folder / "checkpoint.pt", weights_only=True)
    del ck["model"]
    torch.save(ck, folder / "checkpoint.pt")
    with pytest.raises(CorruptFileError, match="does not match this run's config"):
        run_experiment(resume=folder, progress=False)
    cfg = load_toml(folder / RESOLVED)
    cfg["model"]["hidden"] = [5]
    (folder / RESOLVED).write_text(dump_toml(cfg))
    torch.save(torch.load(finished.run_dir / "checkpoint.pt", weights_only=True), folder / "checkpoint.pt")
    with pytest.raises(CorruptFileError, match="does not match this run's config"):
        run_experiment(resume=folder, progress=False)


def test_row11_data_path_is_resolved_against_the_config_file(tmp_path, monkeypatch):
    cfg = blobs_config(tmp_path, name="rel", epochs=1)
    cfg.write_text(cfg.read_text().replace(f'path = "{tmp_path / "blobs.npz"}"', 'path = "blobs.npz"'))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = run_experiment(cfg, runs_dir="runs", progress=False)
    recorded = load_toml(result.run_dir / RESOLVED)["data"]["path"]
    assert recorded == str((tmp_path / "blobs.npz").resolve())
    monkeypatch.chdir(tmp_path)
    again = run_experiment(resume=elsewhere / result.run_dir, progress=False)
    assert again.summary == result.summary


def test_row11_error_messages(tmp_path):
    from memlearn.experiments import registry
    from memlearn.experiments.config import header

    with pytest.raises(ConfigError) as exc:
        registry.build_rule({"rule": "stochastic", "foo": 1})
    assert "learning.foo" in str(exc.value) and "rule" in str(exc.value).split("allowed")[1] and \
        "lr" in str(exc.value).split("allowed")[1]
    with pytest.raises(ConfigError) as exc:
        header({"seed": -1}, "run.toml")
    assert "[]" not in str(exc.value) and "seed=-1" in str(exc.value)
    with pytest.raises(ConfigError, match=r"\[train.epochs\] = True: must be an integer"):
        from memlearn.experiments.kinds import train

        train.parse({"train": {"epochs": True}})
