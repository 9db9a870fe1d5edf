"""Deployment and hardware-aware injection on the statistical PCM preset (PCM_like)."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from torch import nn

from memlearn.crossbar.mapping import DifferentialMapping
from memlearn.devices import get_preset
from memlearn.hardware_aware import ChipConfig, config_for_chip, deploy, prepare_hardware_aware, set_read_time
from memlearn.hardware_aware.compensation import DeployedLayer
from memlearn.nn import TileConfig


def _chip(seed: int = 0) -> ChipConfig:
    tile = TileConfig(device=get_preset("PCM_like"), mapping=DifferentialMapping(scale="column"))
    return ChipConfig(tile=tile, pair_placement="min", seed=seed)


def _layer(seed: int = 0) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(48, 16)


def test_statistical_chip_needs_min_placement():
    with pytest.raises(ValueError, match="pair_placement='mid'"):
        ChipConfig(tile=TileConfig(device=get_preset("PCM_like")), pair_placement="mid")


def test_programmed_error_follows_the_polynomial_and_drift_shrinks_outputs():
    layer = _layer()
    analog, report = deploy(nn.Sequential(layer), _chip())
    deployed = analog[0]
    assert isinstance(deployed, DeployedLayer) and report.pulses == 0
    tile, model = deployed.tile, get_preset("PCM_like").drift
    # the array holds G_P at t = 0: error against the targets has the polynomial's std
    w = layer.weight.detach()
    w_chip = tile.weights()
    rel = float((w_chip - w).norm() / w.norm())
    assert 0.01 < rel < 0.2
    # one year later without compensation the outputs shrink by about ((t + t0)/t0)^-nu, nu ~ 0.05..0.1
    x = torch.rand(256, 48, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y0 = deployed(x) - layer.bias
    set_read_time(analog, 365 * 86400.0, compensate=False)
    with torch.no_grad():
        y1 = deployed(x) - layer.bias
    ratio = float(y1.abs().mean() / y0.abs().mean())
    t = 365 * 86400.0
    assert ((t + model.t0) / model.t0) ** -0.12 < ratio < ((t + model.t0) / model.t0) ** -0.03
    # global drift compensation restores the output scale
    set_read_time(analog, t, compensate=True)
    with torch.no_grad():
        y2 = deployed(x) - layer.bias
    assert float(y2.abs().mean() / y0.abs().mean()) == pytest.approx(1.0, abs=0.1)


def test_read_noise_is_drawn_afresh_per_read_time_and_seeded():
    a1, _ = deploy(nn.Sequential(_layer()), _chip(seed=3))
    a2, _ = deploy(nn.Sequential(_layer()), _chip(seed=3))
    x = torch.rand(8, 48, generator=torch.Generator().manual_seed(2))
    set_read_time(a1, 3600.0, compensate=False)
    set_read_time(a2, 3600.0, compensate=False)
    assert torch.equal(a1(x), a2(x))
    first = a1(x)
    set_read_time(a1, 3600.0, compensate=False)
    assert not torch.equal(a1(x), first)


def test_hardware_aware_injection_uses_the_statistical_model():
    chip = _chip()
    cfg = config_for_chip(chip, drift=True)
    layer = prepare_hardware_aware(_layer(), cfg, seed=0)
    w = layer.module.weight.detach()
    layer.train()
    noisy = torch.stack([layer.effective_weight().detach() for _ in range(20)])
    rel = float((noisy - w).pow(2).mean().sqrt() / w.pow(2).mean().sqrt())
    assert 0.02 < rel < 0.5
    layer.eval()
    assert torch.equal(layer.effective_weight(), w)
    # gradients reach the float weights straight through
    layer.train()
    layer(torch.rand(4, 48)).sum().backward()
    assert layer.module.weight.grad is not None and float(layer.module.weight.grad.abs().sum()) > 0
    quiet = prepare_hardware_aware(_layer(), dataclasses.replace(cfg, noise_scale=0.0), seed=0)
    quiet.train()
    assert math.isfinite(float(quiet.effective_weight().detach().sum()))
