"""Noise and fault injection: float equivalence when off, statistics from the chip's device model."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from memlearn.devices.device import Device
from memlearn.devices.faults import Faults
from memlearn.devices.read_noise import ReadNoise
from memlearn.devices.responses.ideal import Ideal
from memlearn.devices.state import STUCK_AT_GMAX, STUCK_AT_GMIN
from memlearn.hardware_aware import (
    HardwareAwareConfig,
    HardwareAwareLayer,
    ProgrammingNoise,
    prepare_hardware_aware,
    strip_hardware_aware,
)


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 10))


def test_default_config_equals_the_float_model_and_strip_restores_it():
    model = _model()
    x = torch.rand(5, 1, 8, 8)
    ref = model(x)
    prepared = prepare_hardware_aware(model, HardwareAwareConfig())
    assert sum(isinstance(m, HardwareAwareLayer) for m in prepared.modules()) == 2
    assert torch.allclose(prepared.train()(x), ref, atol=1e-6)
    stripped = strip_hardware_aware(prepared)
    assert not any(isinstance(m, HardwareAwareLayer) for m in stripped.modules())
    assert torch.allclose(stripped(x), ref, atol=1e-6)


def test_programming_noise_has_the_device_model_statistics():
    sigma = 0.05
    config = HardwareAwareConfig(programming_noise=ProgrammingNoise(additive=sigma))
    layer = HardwareAwareLayer(nn.Linear(200, 100), config, seed=3).train()
    w = layer.module.weight.detach()
    dw = (layer.effective_weight().detach() - w) / w.abs().max()
    # Two devices per weight, each off by sigma * (g_max - g_min); w = s (G+ - G-) / (g_max - g_min).
    expected = sigma * math.sqrt(2)
    n = dw.numel()
    assert float(dw.std()) == pytest.approx(expected, rel=4 / math.sqrt(2 * n) + 0.02)  # clip at bounds shrinks it slightly
    assert abs(float(dw.mean())) < 4 * expected / math.sqrt(n)
    again = (layer.effective_weight().detach() - w) / w.abs().max()
    assert not torch.allclose(dw, again)  # drawn afresh each forward pass
    layer.eval()
    assert torch.equal(layer.effective_weight().detach(), w)  # eval: trained weights, no noise


def test_multiplicative_read_noise_is_conductance_dependent():
    dev = Device(response=Ideal(g_min=1e-6, g_max=11e-6), read_noise=ReadNoise(relative=0.1))
    config = HardwareAwareConfig(device=dev, read_noise=True)
    lin = nn.Linear(400, 50)
    with torch.no_grad():
        lin.weight.zero_()
        lin.weight[:, 0] = 1.0  # full-scale column sets the layer scale
    layer = HardwareAwareLayer(lin, config, seed=1).train()
    dw = layer.effective_weight().detach()[:, 1:]
    # Zero weight: both devices at g_mid = 6 uS, noise 0.1 * 6 uS each; w = (G+ - G-) / 10 uS.
    expected = math.sqrt(2) * 0.1 * 6e-6 / 10e-6
    assert float(dw.std()) == pytest.approx(expected, rel=4 / math.sqrt(2 * dw.numel()))


def test_fault_injection_rates_and_known_fault_map():
    dev = Device(response=Ideal(), faults=Faults(stuck_at_gmin=0.1, stuck_at_gmax=0.05))
    config = HardwareAwareConfig(device=dev, faults=True)
    lin = nn.Linear(300, 100)
    with torch.no_grad():
        lin.weight.zero_()
        lin.weight[0, 0] = 1.0
    layer = HardwareAwareLayer(lin, config, seed=2).train()
    w = layer.effective_weight().detach()[1:, 1:]
    # Zero weight with one device stuck: +-0.5 (a stuck G+ at g_max gives +0.5, at g_min -0.5).
    n = w.numel()
    p_single = {0.5: 0.05 * 0.85 + 0.1 * 0.85, -0.5: 0.1 * 0.85 + 0.05 * 0.85}
    for value, p in p_single.items():
        frac = float((w - value).abs().lt(1e-6).float().mean())
        assert frac == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / n))
    fault = torch.zeros(300, 200, dtype=torch.int8)
    fault[0, 1] = STUCK_AT_GMAX  # G+ of output 1, input 0
    fault[0, 100 + 2] = STUCK_AT_GMIN  # G- of output 2, input 0 -> weight +0.5
    layer2 = HardwareAwareLayer(lin, HardwareAwareConfig(), seed=2).train()
    layer2.set_fault_map(fault)
    w2 = layer2.effective_weight().detach()
    assert float(w2[1, 0]) == pytest.approx(0.5) and float(w2[2, 0]) == pytest.approx(0.5)
    assert int(((w2 - lin.weight.detach()).abs() > 1e-6).sum()) == 2
    with pytest.raises(ValueError, match="fault map"):
        layer2.set_fault_map(torch.zeros(3, 3, dtype=torch.int8))


def test_gradients_reach_the_float_weights_and_a_torch_loop_trains():
    dev = Device(response=Ideal(states=16), read_noise=ReadNoise(relative=0.02))
    config = HardwareAwareConfig(device=dev, quantize_weights=True, dac_bits=6, adc_bits=8,
                                 programming_noise=ProgrammingNoise(additive=0.02), read_noise=True)
    model = prepare_hardware_aware(_model(), config, seed=0)
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(64, 1, 8, 8, generator=g)
    y = (x[:, 0, :4].mean((1, 2)) > x[:, 0, 4:].mean((1, 2))).long()
    losses = []
    for _ in range(30):
        loss = nn.functional.cross_entropy(model.train()(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    assert sum(losses[-5:]) / 5 < 0.5 * sum(losses[:5]) / 5


def test_min_placement_keeps_the_weights_and_puts_idle_devices_at_g_min():
    from memlearn.crossbar.mapping import DifferentialMapping
    from memlearn.hardware_aware.placement import pair_targets

    mapping = DifferentialMapping()
    w_n = torch.tensor([[0.5, -0.25, 0.0]])
    g = pair_targets(w_n, 1e-6, 11e-6, "min", mapping)
    assert torch.allclose(g, torch.tensor([[6e-6, 1e-6], [1e-6, 3.5e-6], [1e-6, 1e-6]]))
    g_mid = pair_targets(w_n, 1e-6, 11e-6, "mid", mapping)
    for gg in (g, g_mid):
        assert torch.allclose(mapping.to_weights(gg, 10e-6, 1), w_n, atol=1e-6)
    with pytest.raises(ValueError, match="pair_placement"):
        HardwareAwareConfig(pair_placement="top")


def test_drift_injection_draws_per_device_exponents_and_compensates_globally():
    from memlearn.devices.drift import Drift

    dev = Device(response=Ideal(), drift=Drift(nu_mean=0.05, nu_std=0.0))
    layer = HardwareAwareLayer(nn.Linear(40, 30), HardwareAwareConfig(device=dev, drift=True, pair_placement="min"), seed=0)
    w = layer.module.weight.detach()
    # Uniform nu and min placement (g_min ~ 0 relative to the range): drift is a global gain that
    # the compensation removes, up to the g_min offset of the idle devices.
    assert torch.allclose(layer.train().effective_weight().detach(), w, atol=0.02 * float(w.abs().max()))
    spread = HardwareAwareLayer(nn.Linear(40, 30), HardwareAwareConfig(device=Device(
        response=Ideal(), drift=Drift(nu_mean=0.05, nu_std=0.02)), drift=True, pair_placement="min"), seed=0)
    a, b = spread.train().effective_weight().detach(), spread.effective_weight().detach()
    assert not torch.allclose(a, b)  # fresh exponents and read time each pass
    with pytest.raises(ValueError, match="drift"):
        HardwareAwareConfig(drift=True)
