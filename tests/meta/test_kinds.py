"""The ``meta`` and ``programming`` experiment kinds on tiny settings: tables written, config validated."""

import pytest

from memlearn.experiments.kinds import meta, programming
from memlearn.experiments.schema import ConfigError


def test_meta_kind_writes_table(tmp_path):
    config = {"data": {"name": "digits"}, "model": {"hidden": [8]}, "learning": {"rule": "deterministic"},
              "meta": {"k_shots": [1], "n_episodes": 2, "devices": ["ideal"], "n_query": 2},
              "meta_train": {"meta_steps": 2, "meta_batch": 1, "inner_steps": 1}, "adaptation": {"steps": 1}}
    summary = meta.run(config, tmp_path, lambda r: None, seed=0)
    assert len(summary["results"]) == 1 and 0 <= summary["results"][0]["chip_meta"] <= 1
    assert "| ideal | 1 |" in (tmp_path / "table_meta.md").read_text()
    assert (tmp_path / "fig_few_shot.png").stat().st_size > 0
    with pytest.raises(ConfigError, match=r"meta_train\] algorithm"):
        meta.run({**config, "meta_train": {"algorithm": "maml++"}}, tmp_path, lambda r: None, seed=0)


def test_programming_kind_writes_table(tmp_path):
    config = {"data": {"name": "digits"},
              "programming": {"devices": ["EpiRAM"], "rows": 8, "cols": 8, "network_hidden": 4, "network_epochs": 1},
              "programmer_training": {"n_samples": 256, "steps": 20}}
    summary = programming.run(config, tmp_path, lambda r: None, seed=0)
    assert [r["method"] for r in summary["results"]] == ["write_verify", "learned_one_shot", "learned_then_verify"]
    assert all(r["pulses"] > 0 and r["reads"] >= 1 and r["time_us"] > 0 and r["energy_nj"] > 0
               for r in summary["results"])
    one_shot = summary["results"][1]
    assert one_shot["reads"] == 1 and one_shot["iterations"] == 1
    assert "| EpiRAM | learned_then_verify |" in (tmp_path / "table_programming.md").read_text()
    assert (tmp_path / "fig_programming_reads.png").stat().st_size > 0
    with pytest.raises(ConfigError, match=r"programming.devices\[0\]"):
        programming.run({**config, "programming": {"devices": ["unobtainium"]}}, tmp_path, lambda r: None, seed=0)
