"""Deployment: write-verify programming, programming report, drift and mapping-bias compensation."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from memlearn.crossbar.programming import WriteVerify
from memlearn.devices.device import Device
from memlearn.devices.drift import Drift
from memlearn.devices.faults import Faults
from memlearn.devices.responses.ideal import Ideal
from memlearn.hardware_aware import (
    ChipConfig,
    DeployedLayer,
    HardwareAwareConfig,
    ProgrammingNoise,
    deploy,
    evaluate_over_time,
    prepare_hardware_aware,
    set_read_time,
)
from memlearn.nn import TileConfig, convert_to_analog

YEAR = 365 * 86400.0


def _mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(16, 12), nn.ReLU(), nn.Linear(12, 5))


def _chip(device=None, **kw):
    tile = TileConfig(device=device or Device(response=Ideal(states=1000)), programmer=WriteVerify(tolerance=1e-3))
    return ChipConfig(tile=tile, **kw)


def test_ideal_chip_reproduces_the_float_model_and_reports_the_programming_cost():
    model = _mlp()
    x = torch.rand(64, 16, generator=torch.Generator().manual_seed(1))
    analog, report = deploy(prepare_hardware_aware(model, HardwareAwareConfig()), _chip())
    assert sum(isinstance(m, DeployedLayer) for m in analog.modules()) == 2
    ref = model(x).detach()
    out = analog(x).detach()
    assert float((out - ref).abs().max()) < 0.01 * float(ref.abs().max())
    assert report.pulses > 0 and report.energy > 0 and report.time > 0
    assert report.weight_error < 0.005
    assert [r["shape"] for r in report.layers] == [(12, 16), (5, 12)]
    assert sum(r["pulses"] for r in report.layers) == report.pulses
    noisy, noisy_report = deploy(model, _chip(programming_noise=ProgrammingNoise(additive=0.05)))
    # Relative weight error sqrt(2) * 0.05 * max|W| / rms(W) for uniform weights: ~0.12.
    assert 0.06 < noisy_report.weight_error < 0.25


def test_deploy_handles_convolutions_and_convert_to_analog_models():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 6 * 6, 4))
    x = torch.rand(8, 1, 6, 6, generator=torch.Generator().manual_seed(2))
    analog, _ = deploy(model, _chip())
    ref = model(x).detach()
    assert float((analog(x).detach() - ref).abs().max()) < 0.01 * float(ref.abs().max())
    converted = convert_to_analog(model, TileConfig())
    again, _ = deploy(converted, _chip())
    assert float((again(x).detach() - ref).abs().max()) < 0.01 * float(ref.abs().max())


def test_global_drift_compensation_undoes_uniform_drift():
    nu = 0.05
    device = Device(response=Ideal(states=1000), drift=Drift(nu_mean=nu, nu_std=0.0))
    model = _mlp()
    x = torch.rand(32, 16, generator=torch.Generator().manual_seed(3))
    analog, _ = deploy(model, _chip(device))
    first = analog[0]
    z_ref = first(x) - first.bias
    set_read_time(analog, YEAR, compensate=False)
    z_drift = first(x) - first.bias
    # Both devices of every pair decay by (t / t0)^-nu, so every weight does.
    assert torch.allclose(z_drift, z_ref * YEAR ** -nu, rtol=1e-3, atol=1e-5)
    set_read_time(analog, YEAR, compensate=True)
    assert torch.allclose(first(x) - first.bias, z_ref, rtol=1e-3, atol=1e-5)
    assert float(first.drift_scale) == pytest.approx(YEAR ** nu, rel=1e-3)


def test_column_calibration_reduces_the_mapping_bias_of_faulty_devices():
    device = Device(response=Ideal(states=1000), faults=Faults(stuck_at_gmax=0.03))
    model = _mlp()
    gen = torch.Generator().manual_seed(4)
    x_cal, x_test = torch.rand(64, 16, generator=gen), torch.rand(256, 16, generator=gen)
    errors = []
    for calibration in (None, x_cal):
        analog, _ = deploy(model, _chip(device, seed=5), calibration_inputs=calibration)
        first = analog[0]
        ref = model[0](x_test).detach()
        errors.append(float((first(x_test).detach() - ref).square().mean()))
    assert errors[1] < 0.5 * errors[0]


def test_evaluate_over_time_tables_mean_and_std_over_chips():
    device = Device(response=Ideal(states=1000), drift=Drift(nu_mean=0.05, nu_std=0.02))
    model = _mlp()
    gen = torch.Generator().manual_seed(6)
    x = torch.rand(128, 16, generator=gen)
    y = model(x).argmax(1)
    chip = _chip(device, programming_noise=ProgrammingNoise(additive=0.01))
    ev = evaluate_over_time(model, chip, x, y, n_chips=3, times={"1 s": 1.0, "1 year": YEAR})
    assert ev.uncompensated.shape == (3, 2) == ev.compensated.shape
    rows = ev.rows()
    assert rows[0]["mean"] > 0.95  # its own labels, no drift yet
    assert rows[1]["mean_compensated"] > rows[1]["mean"]
    assert len(ev.reports) == 3 and len({r.weight_error for r in ev.reports}) == 3  # different chip instances
    assert "1 year" in ev.to_markdown()
    with pytest.raises(ValueError, match="n_chips"):
        evaluate_over_time(model, _chip(device), x, y, n_chips=0)
    with pytest.raises(ValueError, match="times"):
        evaluate_over_time(model, _chip(device), x, y, n_chips=1, times={"bad": -1.0})


def test_chip_config_validation_and_compensation_without_reference():
    with pytest.raises(ValueError, match="n_calibration"):
        ChipConfig(n_calibration=0)
    with pytest.raises(ValueError, match="t_reference"):
        ChipConfig(t_reference=0.0)
    analog, _ = deploy(_mlp(), _chip(drift_compensation=False))
    with pytest.raises(ValueError, match="reference"):
        set_read_time(analog, 10.0, compensate=True)
    with pytest.raises(ValueError, match="no nn.Linear"):
        deploy(nn.ReLU(), _chip())
    assert math.isfinite(float(analog(torch.rand(2, 16)).detach().sum()))
