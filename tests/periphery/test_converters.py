"""DAC / ADC / management: level counts, clipping, saturation, straight-through gradients."""

from __future__ import annotations

import pytest
import torch

from memlearn.periphery import ADC, DAC, BoundManagement, input_scale, n_levels, quantise


@pytest.mark.parametrize("bits", [2, 3, 5, 8])
def test_dac_level_count_and_clipping(bits):
    dac = DAC(bits=bits)
    u = torch.linspace(-2.0, 2.0, 20001)
    out = dac.convert(u)
    assert out.unique().numel() == n_levels(bits) == 2**bits - 1
    assert float(out.max()) == 1.0 and float(out.min()) == -1.0
    assert torch.equal(dac.convert(torch.zeros(3)), torch.zeros(3))  # zero is a level
    step = 2.0 / (2**bits - 2)
    inside = u.abs() <= 1
    assert float((out[inside] - u[inside]).abs().max()) <= step / 2 + 1e-6


@pytest.mark.parametrize("bits", [2, 4, 9])
def test_adc_level_count(bits):
    adc = ADC(bits=bits, output_range=3.0)
    y = torch.linspace(-10.0, 10.0, 40001)
    assert adc.convert(y).unique().numel() == 2**bits - 1


def test_adc_saturation():
    adc = ADC(bits=8, output_range=5.0)
    y = torch.tensor([-100.0, -5.0, -4.99, 0.0, 4.99, 5.0, 7.0, 1e9])
    out = adc.convert(y)
    assert out[0] == -5.0 and out[-1] == 5.0 and out[-2] == 5.0 and out[1] == -5.0
    assert adc.saturated(y).tolist() == [True, True, False, False, False, True, True, True]
    assert float((out[2:5] - y[2:5]).abs().max()) <= adc.step / 2 + 1e-6
    # the in-place code path used by tiles agrees with convert
    partials = torch.stack([y, 0.5 * y]) / adc.step
    summed = adc.convert_codes_sum_(partials.clone()) * adc.step
    torch.testing.assert_close(summed, adc.convert(y) + adc.convert(0.5 * y))


def test_adc_without_bits_only_saturates():
    adc = ADC(bits=None, output_range=2.0)
    y = torch.tensor([-3.0, 0.123, 2.5])
    assert adc.convert(y).tolist() == pytest.approx([-2.0, 0.123, 2.0])


def test_straight_through_gradient():
    x = torch.tensor([-2.0, -0.33, 0.1, 0.77, 3.0], requires_grad=True)
    quantise(x, 1.0, 4).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]  # identity inside, zero where clipped


def test_input_scale():
    x = torch.tensor([[0.5, -2.0], [0.0, 0.0]])
    assert input_scale(x, "abs_max", 1.0).squeeze(1).tolist() == [2.0, 1.0]
    assert input_scale(x, "none", 3.0).squeeze(1).tolist() == [3.0, 3.0]
    with pytest.raises(ValueError, match="noise_management"):
        input_scale(x, "max", 1.0)


@pytest.mark.parametrize("make, field", [
    (lambda: DAC(bits=1), "dac.bits"),
    (lambda: DAC(v_read=-1.0), "dac.v_read"),
    (lambda: DAC(input_range=0.0), "dac.input_range"),
    (lambda: ADC(bits=30), "adc.bits"),
    (lambda: ADC(output_range=0.0), "adc.output_range"),
    (lambda: BoundManagement(shrink=1.0), "bound_management.shrink"),
    (lambda: BoundManagement(max_repeats=0), "bound_management.max_repeats"),
])
def test_validation_names_the_field(make, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        make()


@pytest.mark.parametrize("bits", [None, 2, 8])
def test_dac_convert_levels_integer_levels_and_step(bits):
    """``convert_levels`` hands back whole level numbers and the DAC step; their product is the
    DAC output and ``convert_scaled`` folds a gain into it."""
    dac = DAC(bits=bits)
    x = torch.randn(6, 50, generator=torch.Generator().manual_seed(0))
    alpha = x.abs().amax(dim=1, keepdim=True) * 0.8  # some inputs clip
    k, q = dac.convert_levels(x, alpha)
    torch.testing.assert_close(k * q, dac.convert(x / alpha))
    if bits is not None:
        assert torch.equal(k, k.round()) and float(k.abs().max()) == 2 ** (bits - 1) - 1
        assert q == 1.0 / (2 ** (bits - 1) - 1)
    torch.testing.assert_close(dac.convert_scaled(x, alpha, 3.0), 3.0 * dac.convert(x / alpha))
