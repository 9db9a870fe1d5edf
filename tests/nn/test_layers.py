"""Analog layers: conv == nn.Conv2d when ideal, conversion of a small CNN, state_dict round trip,
and the inference flow (train float, convert, program, evaluate at read times up to a year)."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from memlearn.crossbar.cost import model_cost
from memlearn.crossbar.mapping import DifferentialMapping
from memlearn.crossbar.programming import WriteVerify
from memlearn.datasets import load_digits
from memlearn.devices.presets import get_preset
from memlearn.nn import (AnalogConv2d, AnalogLinear, AnalogTile, TileConfig, convert_to_analog, convert_to_digital,
                         set_read_time)
from memlearn.periphery import ADC, DAC
from memlearn.units import DAY, HOUR, YEAR


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=3),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(2, 3), dilation=2, padding=(1, 0), bias=False),
    dict(kernel_size=4, padding="same"),
    dict(kernel_size=3, padding=1, padding_mode="reflect"),
])
def test_conv_equals_torch_conv_when_ideal(kwargs):
    torch.manual_seed(0)
    ref = nn.Conv2d(3, 5, **kwargs)
    analog = convert_to_analog(ref)
    assert isinstance(analog, AnalogConv2d)
    x = torch.randn(2, 3, 9, 8)
    xa, xr = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yr = analog(xa), ref(xr)
    torch.testing.assert_close(ya, yr, rtol=1e-5, atol=1e-5)
    ya.sum().backward()
    yr.sum().backward()
    torch.testing.assert_close(xa.grad, xr.grad, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(analog.weight, ref.weight, rtol=1e-5, atol=1e-6)


def _cnn() -> nn.Module:
    torch.manual_seed(1)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Sequential(nn.Conv2d(4, 6, 3)), nn.Flatten(), nn.Linear(6 * 2 * 2, 10))


def test_convert_small_cnn_and_back():
    model = _cnn()
    analog = convert_to_analog(model, TileConfig())
    kinds = [type(m).__name__ for m in analog.modules() if isinstance(m, (AnalogConv2d, AnalogLinear))]
    assert kinds == ["AnalogConv2d", "AnalogConv2d", "AnalogLinear"]
    assert isinstance(model[0], nn.Conv2d)  # the float model is left alone
    names = [m.name for m in analog.modules() if isinstance(m, AnalogTile)]
    assert names[1].startswith("3.0 ")
    x = torch.randn(3, 1, 8, 8)
    torch.testing.assert_close(analog(x), model(x), rtol=1e-5, atol=1e-5)
    back = convert_to_digital(analog)
    assert not any(isinstance(m, AnalogTile) for m in back.modules())
    torch.testing.assert_close(back(x), model(x), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match=r"3.0 .*expected input \(N, 4, H, W\)"):
        analog[3](torch.randn(1, 3, 4, 4))


def test_state_dict_round_trip_with_device_and_generator_state():
    noisy = TileConfig(device=get_preset("ReRAM_SB"), dac=DAC(bits=6), adc=ADC(bits=8), output_noise=0.02)
    a = nn.Sequential(AnalogLinear(12, 6, config=noisy, seed=3), nn.Tanh(), AnalogLinear(6, 4, config=noisy, seed=4))
    a[0].tile.apply_weight_pulses(torch.randint(-5, 6, (6, 12), generator=torch.Generator().manual_seed(0)))
    x = torch.rand(5, 12)
    with torch.no_grad():
        a(x)  # advance the generators
    b = nn.Sequential(AnalogLinear(12, 6, config=noisy, seed=30), nn.Tanh(), AnalogLinear(6, 4, config=noisy, seed=40))
    b.load_state_dict(copy.deepcopy(a.state_dict()))
    for ta, tb in zip((a[0].tile, a[2].tile), (b[0].tile, b[2].tile)):
        assert torch.equal(ta.array.g, tb.array.g)
        for k in ta.array._state_keys:  # device-to-device draws travel too
            assert torch.equal(getattr(ta.array, f"state_{k}"), getattr(tb.array, f"state_{k}"))
    with torch.no_grad():
        torch.testing.assert_close(a(x), b(x))  # same noise draws: the generator state travelled
    assert a[0].tile.cost.n_pulses == b[0].tile.cost.n_pulses > 0


def test_inference_flow_over_read_times():
    """Train a float model, convert, program with write-verify, evaluate at t = 1 s .. 1 year."""
    data = load_digits()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10))
    opt = torch.optim.Adam(model.parameters(), lr=2e-2)
    for _ in range(40):
        opt.zero_grad()
        nn.functional.cross_entropy(model(data.x_train), data.y_train).backward()
        opt.step()
    acc = lambda m: float((m(data.x_test).argmax(1) == data.y_test).float().mean())
    with torch.no_grad():
        float_acc = acc(model)
    assert float_acc > 0.9
    # PCM: ~10 SET levels with per-pulse noise of ~5% of the range, so verify to 8% of the range
    config = TileConfig(device=get_preset("PCM"), mapping=DifferentialMapping(scale="column", baseline="min"),
                        dac=DAC(bits=8), adc=ADC(bits=8, output_range=16.0), noise_management="abs_max",
                        programmer=WriteVerify(tolerance=0.08, max_iterations=30))
    analog = convert_to_analog(model, config, program=True)
    assert model_cost(analog).n_pulses > 0
    accs = {}
    with torch.no_grad():
        for t in (1.0, HOUR, DAY, YEAR):
            set_read_time(analog, t)
            accs[t] = acc(analog)
    assert all(m.read_time == YEAR for m in analog.modules() if isinstance(m, AnalogTile))
    assert accs[1.0] > float_acc - 0.1, accs
    assert accs[YEAR] < accs[1.0] - 0.1, accs  # PCM drift (nu ~ 0.05) without compensation
