"""The hardware_aware experiment kind: config validation, outputs, and the example config."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from memlearn.experiments.kinds import hardware_aware as kind
from memlearn.experiments.schema import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def _small(config: dict) -> dict:
    config = json.loads(json.dumps(config))
    config["data"] = {"name": "digits", "n_train": 300, "n_test": 120}
    config["train"] = {**config.get("train", {}), "epochs": 2}
    config["deploy"] = {**config.get("deploy", {}), "n_chips": 2}
    config["eval"] = {"times": [1.0, 86400.0]}
    return config


def test_example_config_runs_and_writes_the_plot_and_tables(tmp_path):
    config = tomllib.loads((ROOT / "examples" / "hardware_aware_drift.toml").read_text())
    records = []
    summary = kind.run(_small(config), tmp_path, records.append, seed=0)
    assert (tmp_path / "fig_accuracy_vs_time.png").stat().st_size > 1000
    table = (tmp_path / "table_accuracy_vs_time.md").read_text()
    assert "hardware_aware" in table and "1 day" in table
    assert (tmp_path / "table_accuracy_vs_time.csv").exists() and (tmp_path / "table_programming.md").exists()
    for variant in ("float", "hardware_aware"):
        assert 0.0 <= summary[f"{variant}_accuracy_1_day_compensated"] <= 1.0
        assert summary[f"{variant}_programming"]["pulses"] > 0
    assert any("epoch" in r for r in records) and any(r.get("time") == "1 day" for r in records)
    json.dumps(summary)


@pytest.mark.parametrize("section, value, match", [
    ("deploy", {"n_chips": 0}, "deploy.n_chips"),
    ("deploy", {"pair_placement": "top"}, "pair_placement"),
    ("hardware_aware", {"programming_noise": 2.0}, "programming_noise"),
    ("hardware_aware", {"colour": 1}, "colour"),
    ("eval", {"times": [-1.0]}, "eval.times"),
    ("model", {"architecture": "rnn"}, "architecture"),
])
def test_bad_fields_are_named(section, value, match):
    with pytest.raises(ConfigError, match=match):
        kind.parse({section: value})


def test_unknown_table_is_rejected():
    with pytest.raises(ConfigError, match="unknown table"):
        kind.parse({"learning": {"rule": "stochastic"}})
