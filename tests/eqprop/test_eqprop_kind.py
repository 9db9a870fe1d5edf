"""The ``eqprop`` experiment kind: runs from a config dict, writes its files, rejects bad keys."""

from __future__ import annotations

import pytest

from memlearn.experiments.kinds.eqprop import run
from memlearn.experiments.schema import ConfigError


def _config(**over) -> dict:
    cfg = {"name": "ep", "kind": "eqprop", "seed": 0,
           "data": {"name": "digits", "n_train": 200, "n_test": 100},
           "model": {"hidden": [16]}, "device": {"preset": "ideal"},
           "learning": {"rule": "deterministic", "lr": 0.1},
           "eqprop": {"beta": 0.5, "free_steps": 10, "nudged_steps": 4},
           "train": {"epochs": 1, "batch_size": 20}}
    cfg.update(over)
    return cfg


def test_kind_runs_logs_and_writes_figures(tmp_path):
    records = []
    summary = run(_config(), tmp_path, records.append, 0)
    assert len(records) == 1 and records[0]["epoch"] == 1
    assert 0.0 <= summary["test_accuracy"] <= 1.0 and "backprop_test_accuracy" in summary
    assert summary["pulses"] > 0 and summary["sizes"] == [64, 16, 10]
    assert (tmp_path / "fig_learning_curves.png").stat().st_size > 0
    assert "EP on chip" in (tmp_path / "table_eqprop.md").read_text()


@pytest.mark.parametrize(("override", "field"), [
    ({"eqprop": {"beta": 1.5}}, "eqprop.beta"),
    ({"eqprop": {"betta": 0.5}}, "betta"),
    ({"model": {"hidden": []}}, "model.hidden"),
    ({"learning": {"rule": "deterministic", "lr": -1.0}}, "learning.lr"),
    ({"extra": {"a": 1}}, "extra"),
])
def test_kind_rejects_bad_configs_naming_the_field(tmp_path, override, field):
    with pytest.raises((ConfigError, ValueError), match=field):
        run(_config(**override), tmp_path, lambda r: None, 0)
