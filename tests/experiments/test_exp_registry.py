"""Registry builders: strings become the components' own objects; data sets load through one door."""

from __future__ import annotations

import numpy as np
import pytest

from memlearn.experiments import registry
from memlearn.experiments.schema import ConfigError


def test_builders_return_the_components():
    from memlearn.rules import StochasticPulse

    tile = registry.build_tile_config({"device": {"preset": "EpiRAM"}, "crossbar": {"adc": {"bits": 6},
                                                                                   "mapping": {"w_max": 2.0}}})
    assert tile.adc.bits == 6 and tile.mapping.w_max == 2.0
    assert type(tile.device.response).__name__ == "ExpLtpLtd"
    rule = registry.build_rule({"rule": "stochastic", "lr": 0.1, "bl": 15})
    assert isinstance(rule, StochasticPulse) and rule.bl == 15
    assert registry.build_tile_config({"crossbar": {"mapping": {"type": "reference_column"}}}).mapping.__class__.__name__ \
        == "ReferenceColumnMapping"


@pytest.mark.parametrize("name", list(registry.RULES))
def test_every_rule_builds_with_defaults(name):
    rule = registry.build_rule({"rule": name})
    cls = registry.rule_class(name)
    assert type(rule) is cls and rule == cls()  # exactly the rule's own defaults
    with pytest.raises(ConfigError, match=f"learning.nope.*rule = '{name}'.*lr"):
        registry.build_rule({"rule": name, "nope": 1})


def test_unknown_names():
    with pytest.raises(ConfigError, match="unknown rule; allowed: stochastic"):
        registry.build_rule({"rule": "sgd"})
    with pytest.raises(ConfigError, match="not a known experiment kind"):
        registry.resolve_kind("nope")
    with pytest.raises(ConfigError, match="preset"):
        registry.build_device({"preset": "unobtainium"})
    with pytest.raises(ConfigError, match=r"\[data\.name\] = 'cifar'"):
        registry.load_data({"name": "cifar"})


def test_digits_subsets_are_seeded():
    a = registry.load_data({"name": "digits", "n_train": 50, "n_test": 20})
    b = registry.load_data({"name": "digits", "n_train": 50, "n_test": 20})
    assert a.x_train.shape == (50, 64) and a.x_test.shape == (20, 64)
    assert bool((a.x_train == b.x_train).all()) and bool((a.y_test == b.y_test).all())


def test_user_npz(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "mine.npz"
    np.savez(path, x_train=rng.random((30, 2, 3)), y_train=rng.integers(0, 3, 30), x_test=rng.random((10, 2, 3)),
             y_test=rng.integers(0, 3, 10))
    data = registry.load_data({"name": "npz", "path": str(path)})
    assert data.x_train.shape == (30, 6) and data.n_features == 6
    with pytest.raises(ConfigError, match="data.path is required"):
        registry.load_data({"name": "npz"})
    with pytest.raises(ConfigError, match="does-not-exist"):
        registry.load_data({"name": "npz", "path": str(tmp_path / "does-not-exist.npz")})


def test_mnist_from_shared_folder(shared_data):
    data = registry.load_data({"name": "mnist", "n_train": 100, "n_test": 50, "crop": 20})
    assert data.x_train.shape == (100, 400) and data.x_test.shape == (50, 400)
    assert 0.0 <= float(data.x_train.min()) and float(data.x_train.max()) <= 1.0


def test_omniglot_loader(shared_data):
    from memlearn.omniglot import load_omniglot

    x, y, names = load_omniglot(size=14, split="background_small1")
    assert x.shape == (136 * 20, 14 * 14) and x.dtype == np.float32 and y.dtype == np.int64
    assert len(names) == 136 and names == sorted(names) and y.max() == 135
    assert np.bincount(y).tolist() == [20] * 136  # 20 drawers per character
    assert 0.0 <= x.min() and x.max() <= 1.0 and 0.02 < x.mean() < 0.3  # ink = 1, mostly background
    with pytest.raises(ValueError, match="size=0"):
        load_omniglot(size=0)
    with pytest.raises(ValueError, match="split='evaluation'"):
        load_omniglot(split="evaluation")


def test_omniglot_union_dedupes_greek_and_latin(shared_data):
    from memlearn.omniglot import load_omniglot

    _, y, names = load_omniglot(size=7)
    assert len(names) == len(set(names)) == 136 + 156 - 24 - 26  # Greek (24) and Latin (26) are in both zips
    data = registry.load_data({"name": "omniglot", "size": 7, "n_classes": 5})
    assert data.n_classes == 5 and data.x_train.shape[1] == 49 and len(data.y_test) == 5 * 5
