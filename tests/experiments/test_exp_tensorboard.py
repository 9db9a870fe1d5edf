"""Optional TensorBoard logging: off by default, the same records as metrics.jsonl, a clear error without the package."""

from __future__ import annotations

import importlib.util

import pytest

from memlearn.experiments.progress import TensorBoardLog
from memlearn.experiments.runner import run_experiment
from memlearn.experiments.schema import ConfigError

from .helpers import tiny_config

HAS_TENSORBOARD = importlib.util.find_spec("tensorboard") is not None


class _Writer:
    def __init__(self):
        self.scalars = []

    def add_scalar(self, tag, value, step):
        self.scalars.append((tag, value, step))


def test_records_become_scalars_by_step_and_by_epoch():
    writer = _Writer()
    board = TensorBoardLog(writer)
    board({"step": 7, "epoch": 1, "batch": 7, "loss": 0.5, "pulses": 10, "energy": None})
    board({"epoch": 2, "test_accuracy": 0.9, "float_test_accuracy": None, "train_loss": 0.3, "pulses": 20})
    board({"epoch": 2, "drift_time": 10.0, "drift_test_accuracy": 0.8})  # neither kind: ignored
    assert writer.scalars == [("step/loss", 0.5, 7), ("step/pulses", 10, 7), ("epoch/train_loss", 0.3, 2),
                              ("epoch/test_accuracy", 0.9, 2), ("epoch/pulses", 20, 2)]


@pytest.mark.skipif(HAS_TENSORBOARD, reason="tensorboard is installed: the missing-package error cannot occur")
def test_asking_for_tensorboard_without_the_package_is_a_config_error(tmp_path):
    cfg = tiny_config(tmp_path, epochs=1, extra="tensorboard = true\n")
    with pytest.raises(ConfigError, match="pip install tensorboard"):
        run_experiment(cfg, runs_dir=tmp_path / "runs", progress=False)
    assert not (tmp_path / "runs" / "tiny").exists()


@pytest.mark.skipif(not HAS_TENSORBOARD, reason="tensorboard is not installed (optional)")
def test_tensorboard_event_files_are_written(tmp_path):
    cfg = tiny_config(tmp_path, epochs=1, extra="tensorboard = true\nfigures = false\n")
    result = run_experiment(cfg, runs_dir=tmp_path / "runs", progress=False)
    assert list((result.run_dir / "tensorboard").glob("events.out.tfevents.*"))
