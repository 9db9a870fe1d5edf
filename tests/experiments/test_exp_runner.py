"""`memlearn run` in process: the run folder, determinism, resume, bad files, divergence."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from memlearn.experiments import runner
from memlearn.experiments.health import DivergenceError, check_devices
from memlearn.experiments.runner import run_experiment
from memlearn.experiments.schema import ConfigError
from memlearn.experiments.storage import CorruptFileError, read_jsonl

from .helpers import same_run_files, tiny_config


class _Interrupt(Exception):
    pass


def _files(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_run_folder_determinism_and_resume(tmp_path, monkeypatch):
    """Same config + seed = identical summary and metrics; an interrupted run resumed from its last
    checkpoint ends identical to the uninterrupted one (summary, metrics, device conductances)."""
    cfg = tiny_config(tmp_path, extra="[eval]\ndrift_times = [10.0, 1000.0]\n")
    a = run_experiment(cfg, runs_dir=tmp_path / "a", progress=False)
    names = set(_files(a.run_dir))
    assert {"config.resolved.toml", "metrics.jsonl", "checkpoint.pt", "summary.json", "run.json", "report.html",
            "fig_learning_curves.png", "fig_conductances.png", "fig_pulses_per_device.png",
            "data.json"} <= names
    assert "fig_accuracy_vs_drift.png" not in names  # ReRAM_SB has no drift model: no flat curve
    assert a.ok and a.summary["pulses"] > 0 and a.summary["energy"] > 0 and len(a.summary["drift"]) == 2
    epochs = [r for r in read_jsonl(a.run_dir / "metrics.jsonl") if "test_accuracy" in r]
    assert [r["epoch"] for r in epochs] == [1, 2, 3]
    assert all(isinstance(r["float_test_accuracy"], float) and 0 < r["float_test_accuracy"] <= 1 for r in epochs)
    assert epochs[-1]["float_test_accuracy"] > 0.1 + 0.15  # the float twin learns (chance 0.1)

    b = run_experiment(cfg, runs_dir=tmp_path / "b", progress=False)
    same_run_files(a.run_dir, b.run_dir)

    # Interrupt during epoch 2 (after checkpoint 1 and a few step records), then resume.
    original = runner.RunLog.append

    def interrupting(self, record):
        original(self, record)
        if record.get("epoch") == 2 and record.get("batch") == 4:
            raise _Interrupt()

    monkeypatch.setattr(runner.RunLog, "append", interrupting)
    with pytest.raises(_Interrupt):
        run_experiment(cfg, runs_dir=tmp_path / "c", progress=False)
    monkeypatch.setattr(runner.RunLog, "append", original)
    folder = tmp_path / "c" / "tiny"
    assert not (folder / "summary.json").exists()
    c = run_experiment(resume=folder, progress=False)
    same_run_files(a.run_dir, c.run_dir)
    ck_a = torch.load(a.run_dir / "checkpoint.pt", weights_only=False)
    ck_c = torch.load(c.run_dir / "checkpoint.pt", weights_only=False)
    for key, value in ck_a["model"].items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, ck_c["model"][key]), key


def test_existing_run_is_never_overwritten(tmp_path):
    cfg = tiny_config(tmp_path, epochs=1, n_train=32)
    first = run_experiment(cfg, runs_dir=tmp_path, progress=False, overrides=["train.float_baseline=false"])
    second = run_experiment(cfg, runs_dir=tmp_path, progress=False, overrides=["train.float_baseline=false"])
    assert first.run_dir.name == "tiny" and second.run_dir.name == "tiny-2"
    assert second.summary["float_test_accuracy"] is None


def test_truncated_checkpoint_on_resume(tmp_path):
    cfg = tiny_config(tmp_path, epochs=1, n_train=32)
    done = run_experiment(cfg, runs_dir=tmp_path, progress=False)
    ck = done.run_dir / "checkpoint.pt"
    ck.write_bytes(ck.read_bytes()[:1000])
    before = _files(done.run_dir)
    with pytest.raises(CorruptFileError, match="checkpoint.pt is corrupt or truncated"):
        run_experiment(resume=done.run_dir, progress=False)
    assert _files(done.run_dir) == before


def test_config_errors_leave_no_folder(tmp_path):
    cfg = tiny_config(tmp_path)
    with pytest.raises(ConfigError, match=r"tiny\.toml.*\[train\.batch_size\] = 0|batch_size=0"):
        run_experiment(cfg, runs_dir=tmp_path / "runs", overrides=["train.batch_size=0"], progress=False)
    assert not (tmp_path / "runs" / "tiny").exists()
    (tmp_path / "config.resolved.toml").write_text('name = "tiny"\n')
    with pytest.raises(ConfigError, match="--set cannot be combined with --resume"):
        run_experiment(resume=tmp_path, overrides=["seed=1"], progress=False)


def test_nan_in_data_is_reported_before_training(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((40, 5)).astype(np.float32)
    x[7, 2] = np.nan
    path = tmp_path / "bad.npz"
    np.savez(path, x_train=x, y_train=rng.integers(0, 2, 40), x_test=rng.random((10, 5)), y_test=rng.integers(0, 2, 10))
    cfg = tiny_config(tmp_path)
    with pytest.raises(ConfigError, match=r"x_train holds 1 NaN/inf values \(first in sample 7\)"):
        run_experiment(cfg, runs_dir=tmp_path / "runs", progress=False,
                       overrides=["data.name=npz", f"data.path={path}", "data.n_train=40", "data.n_test=10"])


def test_nan_loss_stops_the_run_with_a_diagnosis(tmp_path, monkeypatch):
    from memlearn.experiments.kinds import train as train_kind

    real = train_kind.train_epoch

    def diverging(model, opt, x, y, batch_size, generator, on_batch=None):
        stats = real(model, opt, x, y, batch_size, generator, on_batch)
        if on_batch is not None:
            on_batch({"step": 0, "loss": float("inf")})  # as if the loss had overflowed
        return stats

    monkeypatch.setattr(train_kind, "train_epoch", diverging)
    result = run_experiment(tiny_config(tmp_path, epochs=2, n_train=32), runs_dir=tmp_path, progress=False)
    assert result.summary["status"] == "diverged" and "loss became inf at epoch 1" in result.summary["reason"]
    assert [d["layer"] for d in result.summary["diagnosis"]] == ["0.tile", "2.tile"]
    assert {"frac_at_gmin", "frac_at_gmax", "n_nonfinite", "weight_std"} <= set(result.summary["diagnosis"][0])
    assert "Diagnosis" in (result.run_dir / "report.html").read_text()


def test_saturated_devices_stop_the_run():
    from memlearn.experiments.training import build_mlp
    from memlearn.experiments import registry

    model = build_mlp([4, 3], "tanh", registry.build_tile_config({}), seed=0)
    check_devices(model, "start", max_saturation=0.99)  # fresh weights sit mid-range: healthy
    tile = model[0].tile
    with torch.no_grad():
        tile.array.g.copy_(tile.array.state.g_max)
    with pytest.raises(DivergenceError, match=r"layer 0\.tile: 100\.0% of devices are saturated") as exc:
        check_devices(model, "epoch 3", max_saturation=0.99)
    assert exc.value.diagnosis[0]["frac_at_gmax"] == 1.0
