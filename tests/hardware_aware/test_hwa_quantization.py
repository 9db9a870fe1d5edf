"""Fake quantisation: exact level counts, straight-through gradients, calibrated and learned ranges."""

from __future__ import annotations

import pytest
import torch

from memlearn.devices.device import Device
from memlearn.devices.presets import get_preset
from memlearn.devices.responses.ideal import Ideal
from memlearn.hardware_aware import (
    HardwareAwareConfig,
    HardwareAwareLayer,
    RangeQuantizer,
    WeightQuantizer,
    device_levels,
    quantize_to_levels,
    uniform_levels,
)


@pytest.mark.parametrize("n", [2, 3, 16, 21, 101])
def test_uniform_weight_quantizer_has_exactly_n_levels(n):
    q = WeightQuantizer(uniform_levels(n))
    w = torch.linspace(-1.3, 1.3, 20001)
    out = q(w, torch.tensor(1.0))
    assert torch.unique(out).numel() == n
    assert float(out.min()) == -1.0 and float(out.max()) == 1.0
    # Every output is a grid point: w = 2 k / (n - 1) - 1.
    k = (out + 1) * (n - 1) / 2
    assert torch.allclose(k, k.round(), atol=1e-4)


@pytest.mark.parametrize("name", ["PCM", "TaOx_HfOx", "ReRAM_SB"])
def test_device_levels_follow_the_pulse_response(name):
    device = get_preset(name)
    levels = device_levels(device, 16)
    assert levels.numel() == 16 and float(levels[0]) == 0.0 and float(levels[-1]) == 1.0
    assert bool((levels[1:] > levels[:-1]).all())
    q = WeightQuantizer(levels)
    out = q(torch.linspace(-2, 2, 50001), torch.tensor(2.0))
    assert torch.unique(out).numel() == 16
    # The population-average conductance after k pulses from g_min, normalised, computed independently.
    state = device.sample((256,), torch.Generator().manual_seed(0))
    g0 = state.g_min
    rise = lambda k: (device.response.moments(g0, torch.full((256,), k), state.params)[0].minimum(state.g_max) - g0).mean()
    assert float(levels[5]) == pytest.approx(float(rise(5) / rise(15)), rel=1e-4)


def test_saturating_device_levels_are_nonuniform():
    levels = device_levels(get_preset("PCM"), 20)
    gaps = levels[1:] - levels[:-1]
    assert bool((gaps[1:] < gaps[:-1]).all())  # SET steps shrink towards g_max
    assert float(gaps[0]) > 1.4 * float(gaps[-1])  # about (1 - 1/n_set)^-18 = 2.5 for the nominal device


def test_device_levels_default_to_the_device_state_count():
    levels = device_levels(Device(response=Ideal(states=40)))
    assert levels.numel() == 41
    assert torch.allclose(levels, torch.linspace(0, 1, 41), atol=1e-6)


@pytest.mark.parametrize("bits", [2, 4, 7])
def test_range_quantizer_has_exactly_2_to_the_bits_minus_one_levels(bits):
    q = RangeQuantizer(bits, init_range=2.0, mode="fixed")
    x = torch.linspace(-5, 5, 40001)
    out = q(x)
    assert torch.unique(out).numel() == 2 ** bits - 1 == q.n_levels
    assert float(out.max()) == pytest.approx(2.0) and float(out.min()) == pytest.approx(-2.0)


def test_straight_through_gradient_inside_the_range_and_zero_where_clamped():
    q = RangeQuantizer(4, init_range=1.0, mode="fixed")
    x = torch.tensor([-2.0, -0.33, 0.1, 0.77, 3.0], requires_grad=True)
    q(x).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]
    w = torch.tensor([0.31, -0.52], requires_grad=True)
    quantize_to_levels(w, torch.linspace(0, 1, 5)).sum().backward()
    assert w.grad.tolist() == [1.0, 1.0]


def test_learnable_range_gets_the_pact_gradient():
    q = RangeQuantizer(8, init_range=1.0, mode="learnable")
    x = torch.tensor([-3.0, 0.2, 2.0])
    q(x).sum().backward()
    # d/dr clip(x, -r, r) = sign(x) where |x| > r: -1 + 1 = 0 from the clipped entries, plus the
    # rounding residual's dependence on the step (zero for values on the grid).
    assert q.range.grad is not None
    q2 = RangeQuantizer(8, init_range=1.0, mode="learnable")
    q2(torch.tensor([2.0, 3.0])).sum().backward()
    assert float(q2.range.grad) == pytest.approx(2.0, abs=1e-6)


def test_calibrated_range_tracks_the_signal_and_freezes_in_eval():
    q = RangeQuantizer(8, init_range=1.0, mode="calibrated", momentum=0.5)
    q.train()
    q(torch.tensor([0.0, 4.0]))
    assert float(q.range) == pytest.approx(4.0)
    q(torch.tensor([2.0]))
    assert float(q.range) == pytest.approx(3.0)
    q.eval()
    q(torch.tensor([100.0]))
    assert float(q.range) == pytest.approx(3.0)


def test_layer_weight_quantisation_uses_the_device_states():
    config = HardwareAwareConfig(device=Device(response=Ideal(states=6)), quantize_weights=True)
    layer = HardwareAwareLayer(torch.nn.Linear(50, 40), config)
    w = layer.effective_weight()
    scale = layer.module.weight.abs().max()
    assert torch.unique(w).numel() == 7
    assert torch.allclose(torch.unique(w), torch.linspace(-1, 1, 7) * scale, atol=1e-6)


@pytest.mark.parametrize("kwargs, field", [
    (dict(weight_levels=1), "weight_levels"), (dict(dac_bits=1), "dac_bits"), (dict(adc_bits=40), "adc_bits"),
    (dict(level_spacing="log"), "level_spacing"), (dict(range_mode="auto"), "range_mode"),
    (dict(noise_scale=-1.0), "noise_scale"), (dict(faults=True), "faults"),
])
def test_config_validation_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        HardwareAwareConfig(**kwargs)
