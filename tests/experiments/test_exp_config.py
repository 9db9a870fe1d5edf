"""Config loading, overrides, validation messages and the generated docs/config.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from memlearn.experiments import registry
from memlearn.experiments.config import apply_overrides, header, load_toml, parse_override, parse_value
from memlearn.experiments.kinds import train as train_kind
from memlearn.experiments.schema import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_override_values_are_typed():
    assert parse_value("5") == 5 and isinstance(parse_value("5"), int)
    assert parse_value("0.25") == 0.25
    assert parse_value("true") is True
    assert parse_value("[1, 2]") == [1, 2]
    assert parse_value("TaOx_HfOx") == "TaOx_HfOx"
    assert parse_value('"5"') == "5"
    cfg = apply_overrides({"train": {"epochs": 1}}, ["train.epochs=5", "device.preset=TaOx_HfOx", "model.hidden=[4, 4]"])
    assert cfg == {"train": {"epochs": 5}, "device": {"preset": "TaOx_HfOx"}, "model": {"hidden": [4, 4]}}


@pytest.mark.parametrize("item", ["train.epochs", "=5", "train..epochs=5"])
def test_malformed_override(item):
    with pytest.raises(ConfigError, match="KEY.PATH=VALUE"):
        parse_override(item)


def test_override_into_a_value_is_an_error():
    with pytest.raises(ConfigError, match="is a value, not a table"):
        apply_overrides({"seed": 1}, ["seed.x=2"])


def test_not_toml(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n[[[")
    with pytest.raises(ConfigError, match=r"bad\.toml is not valid TOML"):
        load_toml(bad)


def test_error_names_file_field_value_and_allowed():
    with pytest.raises(ConfigError) as exc:
        train_kind.parse({"train": {"epochs": "many"}})
    msg = str(exc.value)
    assert "[train.epochs]" in msg and "'many'" in msg and "1..100000" in msg
    with pytest.raises(ConfigError, match=r"train\.epochs=0 must be in \[1, 100000\]"):
        train_kind.parse({"train": {"epochs": 0}})
    with pytest.raises(ConfigError, match=r"cfg\.toml: unknown top-level field 'epochs'"):
        header({"epochs": 3}, "cfg.toml")


def test_unknown_keys_are_errors_everywhere():
    with pytest.raises(ConfigError, match=r"unknown field 'train\.epoch'.*allowed fields of \[train\]: .*epochs"):
        train_kind.parse({"train": {"epoch": 3}})
    with pytest.raises(ConfigError, match=r"unknown table \[trian\]"):
        train_kind.parse({"trian": {}})
    with pytest.raises(ConfigError, match=r"unknown field 'crossbar\.adc\.bit'"):
        registry.build_tile_config({"crossbar": {"adc": {"bit": 4}}})
    with pytest.raises(ConfigError, match=r"unknown field 'learning\.bll'"):
        registry.build_rule({"rule": "stochastic", "bll": 3})
    with pytest.raises(ConfigError, match=r"device\.sigma"):
        registry.build_device({"preset": "ReRAM_SB", "sigma": 1})
    with pytest.raises(ConfigError, match=r"unknown field 'data\.nme'"):
        registry.load_data({"nme": "digits"})


def test_config_docs_up_to_date():
    from memlearn.experiments.config_docs import generate

    committed = (ROOT / "docs" / "config.md").read_text()
    assert committed == generate(), "docs/config.md is stale: run `make docs`"


@pytest.mark.parametrize("example", sorted((ROOT / "examples").glob("*.toml")), ids=lambda p: p.name)
def test_examples_parse(example):
    """Every example is valid TOML with a known kind (run configs) or a loadable sweep."""
    raw = load_toml(example)
    if "axes" in raw:
        from memlearn.experiments.sweep import load_sweep, points

        cfg, base = load_sweep(example)
        assert points(cfg)
    else:
        head = header(raw, example)
        assert head.kind in registry.KINDS
        if head.kind == "train":
            train_kind.parse(raw)
            registry.build_tile_config(raw)
            registry.build_rule(raw.get("learning", {}))
