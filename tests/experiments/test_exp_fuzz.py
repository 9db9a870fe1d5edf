"""Fuzz the config boundary (issue 10): random configs give a ValueError/TypeError with a message,
never a traceback from deep inside pydantic, torch or scipy, and never a hang."""

from __future__ import annotations

import dataclasses
import math
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memlearn.experiments import registry
from memlearn.experiments.config import apply_overrides, header
from memlearn.experiments.data import DataConfig
from memlearn.experiments.kinds import train as train_kind
from memlearn.experiments.kinds.train_config import EvalConfig, ModelConfig, TrainConfig
from memlearn.experiments.schema import ConfigError, validate
from memlearn.experiments.sweep import SweepConfig

KEYS = {
    "data": [f.name for f in dataclasses.fields(DataConfig)],
    "model": [f.name for f in dataclasses.fields(ModelConfig)],
    "train": [f.name for f in dataclasses.fields(TrainConfig)],
    "eval": [f.name for f in dataclasses.fields(EvalConfig)],
    "device": ["preset", "model", "g_min", "g_max", "n_pulses", "sigma_c2c", "states", "read_noise", "drift", "faults"],
    "crossbar": ["adc", "dac", "mapping", "array_size", "output_noise", "noise_management", "programmer", "bits"],
    "learning": ["rule", "lr", "bl", "max_pulses", "per_sample", "transfer_every", "rule_x"],
}
NAMES = ["digits", "npz", "stochastic", "tiki_taka", "ReRAM_SB", "EpiRAM", "soft_bounds", "cuda", "abs_max", "x", ""]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.sampled_from(NAMES),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.sampled_from(["bits", "w_max", "low", "x", "rule"]),
                                                                       inner, max_size=3)), max_leaves=6)


@st.composite
def configs(draw):
    config = {}
    for section, keys in KEYS.items():
        if draw(st.booleans()):
            config[section] = draw(st.dictionaries(st.sampled_from(keys + ["junk"]), values, max_size=4))
    if draw(st.booleans()):
        config["seed"] = draw(scalars)
    if draw(st.booleans()):
        config["name"] = draw(scalars)
    return config


def _ok_error(exc: BaseException, strict: bool = True) -> None:
    """The oracle: only memlearn's own ConfigError, naming a field (``[a.b]``, ``a.b``, ``name=``) or
    a file; anything else (a TypeError from torch, a KeyError, a pydantic dump) is a finding."""
    if strict:
        assert isinstance(exc, ConfigError), f"{type(exc).__name__}: {exc}"
        assert re.search(r"\[[^\]]+\]|\w+\.\w+|\w+=|field|\.toml|\.npz", str(exc)), f"names no field: {exc}"
    else:
        assert isinstance(exc, (ValueError, TypeError)), f"{type(exc).__name__}: {exc}"
    assert str(exc).strip(), "an error needs a message"
    assert "pydantic" not in str(exc).lower() or "errors.pydantic.dev" not in str(exc)


def _sample_devices(config: dict) -> None:
    """Reach device sampling: a config the registry accepted must build a 3x2 analog layer (which draws
    every device parameter) and run a forward pass; any error there is a finding (not caught)."""
    import torch

    from memlearn.nn.linear import AnalogLinear

    tile_config = registry.build_tile_config(config)
    layer = AnalogLinear(3, 2, config=tile_config, seed=0)
    layer(torch.full((1, 3), 0.5))


def _load_data(config: dict) -> None:
    """Reach data loading for the cheap built-in set (digits) with the config's [data] fields."""
    data = config.get("data", {})
    if isinstance(data, dict) and data.get("name", "digits") == "digits":
        registry.load_data(data)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(configs())
def test_random_run_configs(config):
    steps = [lambda: header(config), lambda: train_kind.parse(config), lambda: registry.build_tile_config(config),
             lambda: registry.build_rule(config.get("learning", {})),
             lambda: validate(DataConfig, config.get("data", {}), "data"), lambda: _sample_devices(config),
             lambda: _load_data(config)]
    for step in steps:
        try:
            step()
        except ConfigError as exc:
            _ok_error(exc)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.dictionaries(st.sampled_from([f.name for f in dataclasses.fields(SweepConfig)] + ["junk"]), values, max_size=5))
def test_random_sweep_configs(raw):
    try:
        validate(SweepConfig, raw, "", "sweep.toml")
    except Exception as exc:  # noqa: BLE001
        _ok_error(exc)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.dictionaries(st.sampled_from(["name", "n_train", "n_test", "seed", "path", "junk"]), scalars, max_size=4))
def test_random_data_sections_reach_data_loading(data):
    try:
        registry.load_data({"name": "digits", **data})
    except Exception as exc:  # noqa: BLE001
        _ok_error(exc)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.text(max_size=20), max_size=3))
def test_random_overrides(items):
    try:
        apply_overrides({"train": {"epochs": 1}}, items)
    except Exception as exc:  # noqa: BLE001
        _ok_error(exc)
