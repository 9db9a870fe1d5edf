"""``[data]``: normalisation fitted on the training split, stored in the run folder; range warnings and errors."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
import torch

from memlearn.datasets import load_digits
from memlearn.experiments import clipping, registry
from memlearn.experiments import data as data_files
from memlearn.experiments.runner import run_experiment
from memlearn.experiments.schema import ConfigError
from memlearn.experiments.storage import read_json
from memlearn.experiments.training import build_mlp

from .helpers import TINY


def _raw_npz(path, seed=0, scale=2000.0):
    """Three separable classes whose 6 features are in the thousands (as exported by an instrument)."""
    rng = np.random.default_rng(seed)
    y = np.arange(240) % 3
    centres = rng.uniform(0.2, 0.8, (3, 6))
    x = (centres[y] + 0.05 * rng.normal(size=(240, 6))) * scale
    np.savez(path, X=x, y=y)
    return path


def test_bundled_data_are_left_unchanged():
    data = registry.load_data({"name": "digits"})
    ref = load_digits()
    assert torch.equal(data.x_train, ref.x_train) and torch.equal(data.x_test, ref.x_test)
    assert data.record["normalisation"]["method"] == "none"


@pytest.mark.parametrize("method", ["minmax", "standard"])
def test_normalisation_is_fitted_on_the_training_split_only(tmp_path, method):
    path = _raw_npz(tmp_path / "raw.npz")
    data = registry.load_data({"name": "npz", "path": str(path), "normalise": method})
    raw = registry.load_data({"name": "npz", "path": str(path), "normalise": "none"})
    x = data.x_train.double()
    if method == "minmax":
        assert torch.allclose(x.amin(0), torch.zeros(6, dtype=torch.float64), atol=1e-6)
        assert torch.allclose(x.amax(0), torch.ones(6, dtype=torch.float64), atol=1e-6)
    else:
        assert torch.allclose(x.mean(0), torch.zeros(6, dtype=torch.float64), atol=1e-5)
        assert torch.allclose(x.std(0, unbiased=False), torch.ones(6, dtype=torch.float64), atol=1e-5)
    # test inputs use the training statistics, not their own
    lo, hi = raw.x_train.double().amin(0), raw.x_train.double().amax(0)
    if method == "minmax":
        assert torch.allclose(data.x_test.double(), (raw.x_test.double() - lo) / (hi - lo), atol=1e-5)
    assert float(raw.x_train.max()) > 1000


def test_default_for_a_users_file_is_minmax(tmp_path):
    data = registry.load_data({"name": "npz", "path": str(_raw_npz(tmp_path / "raw.npz"))})
    assert data.record["normalisation"]["method"] == "minmax" and float(data.x_train.max()) <= 1.0 + 1e-6


def test_record_is_stored_checked_on_resume_and_reapplied(tmp_path):
    path = _raw_npz(tmp_path / "raw.npz")
    data = registry.load_data({"name": "npz", "path": str(path)})
    run = tmp_path / "run"
    run.mkdir()
    data_files.persist(data, run)
    stored = read_json(run / "data.json")
    assert stored["normalisation"]["method"] == "minmax" and stored["n_train"] == len(data.y_train)
    data_files.persist(data, run)  # same data: accepted
    raw = registry.load_data({"name": "npz", "path": str(path), "normalise": "none"})
    assert torch.allclose(data_files.normalise_like(run, raw.x_test), data.x_test, atol=1e-6)
    _raw_npz(path, seed=1)  # the file changes under a run
    changed = registry.load_data({"name": "npz", "path": str(path)})
    with pytest.raises(data_files.DataFileError, match="differ from when this run started"):
        data_files.persist(changed, run)


def test_clipping_measures_inputs_beyond_the_dac_range_without_touching_the_model():
    from memlearn.nn.tile import TileConfig
    from memlearn.periphery.adc import ADC
    from memlearn.periphery.dac import DAC

    cfg = TileConfig(dac=DAC(bits=8, input_range=1.0), adc=ADC(bits=8, output_range=1e-3))
    model = build_mlp([4, 3], "tanh", cfg, seed=0)
    x = torch.tensor([[0.5, 2.0, -3.0, 0.1]] * 8)
    tile = model[0].tile
    before = (tile.array.g.clone(), tile.array.n_writes.clone(), tile.counter.report())
    gen = model[0].tile.generator.get_state()
    (layer,) = clipping.measure(model, x)
    assert layer.dac_clipped == pytest.approx(0.5) and layer.beyond_full_scale == pytest.approx(0.5)
    assert layer.adc_saturated > 0.9 and layer.input_absmax == pytest.approx(3.0)
    assert torch.equal(model[0].tile.generator.get_state(), gen)
    assert torch.equal(before[0], tile.array.g) and torch.equal(before[1], tile.array.n_writes)
    assert before[2] == tile.counter.report()
    assert "DAC clips 50.0%" in clipping.warnings_for([layer])[0]
    assert clipping.saturation_status([layer])[0] == "adc_saturated"
    nm = dataclasses.replace(cfg, noise_management="abs_max")
    (scaled,) = clipping.measure(build_mlp([4, 3], "tanh", nm, seed=0), x)
    assert scaled.dac_clipped == 0.0 and scaled.full_scale is None


def _config(tmp_path, path, extra=""):
    text = TINY.format(name="raw", seed=0, epochs=1, n_train=120).replace(
        'name = "digits"\nn_train = 120\nn_test = 90', f'name = "npz"\npath = "{path}"\nnormalise = "none"') + "figures = false\n" + extra
    cfg = tmp_path / "raw.toml"
    cfg.write_text(text)
    return cfg


def test_raw_inputs_warn_and_fail_under_strict_range(tmp_path):
    cfg = _config(tmp_path, _raw_npz(tmp_path / "raw.npz"), "[crossbar.dac]\nbits = 8\n")
    with pytest.warns(clipping.InputRangeWarning, match="DAC clips .* normalise the data"):
        result = run_experiment(cfg, runs_dir=tmp_path / "runs", progress=False)
    assert result.summary["warnings"] and result.summary["clipping"][0]["dac_clipped"] > 0.9
    with pytest.raises(ConfigError, match="strict_range"):
        run_experiment(cfg, runs_dir=tmp_path / "runs", overrides=["data.strict_range=true"], progress=False)


def test_normalised_run_has_no_warning_and_a_saturating_adc_is_a_status(tmp_path):
    cfg = _config(tmp_path, _raw_npz(tmp_path / "raw.npz"), "[crossbar.adc]\noutput_range = 0.001\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error", clipping.InputRangeWarning)
        result = run_experiment(cfg, runs_dir=tmp_path / "runs", overrides=["data.normalise=minmax"], progress=False)
    assert result.summary["status"] == "adc_saturated" and "crossbar.adc.output_range" in result.summary["reason"]
    assert (result.run_dir / "data.json").exists()
