"""The ``continual`` experiment kind: validates its tables, writes the table and the matrix plot."""

import json

import pytest

from memlearn.experiments.kinds import continual
from memlearn.experiments.schema import ConfigError


def _config(**continual_section):
    return {"name": "t", "kind": "continual", "data": {"name": "digits"}, "model": {"hidden": [16]},
            "device": {"preset": "ReRAM_SB"}, "learning": {"rule": "deterministic"},
            "continual": {"strategies": ["naive", "ewc"], **continual_section},
            "train": {"epochs": 1, "batch_size": 32, "lr": 0.1}}


def test_kind_writes_table_plot_and_summary(tmp_path):
    records = []
    summary = continual.run(_config(classes_per_task=5), tmp_path, records.append, seed=0)
    assert set(summary["strategies"]) == {"naive", "ewc"}
    assert (tmp_path / "fig_accuracy_matrix.png").stat().st_size > 0
    table = (tmp_path / "table_continual.md").read_text()
    assert "| naive |" in table and "| ewc |" in table
    assert (tmp_path / "table_continual.csv").read_text().count("\n") == 3
    assert all("step" in r for r in records)
    json.dumps(summary)


def test_kind_rejects_unknown_fields_and_strategies(tmp_path):
    with pytest.raises(ConfigError, match="continual.colour"):
        continual.run(_config(colour=1), tmp_path, lambda r: None, seed=0)
    with pytest.raises(ConfigError, match="strategies"):
        continual.run(_config(strategies=["magic"]), tmp_path, lambda r: None, seed=0)
