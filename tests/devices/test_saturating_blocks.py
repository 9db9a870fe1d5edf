"""The blocked dense update (tanh/exp form, scratch buffers) against the closed-form moments."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from memlearn.devices import ExpLtpLtd, SoftBounds
from memlearn.devices.responses import _saturating

SHAPE = (301, 457)  # > BLOCK devices and not a multiple of it: full blocks and a short tail
CASES = {
    "soft_bounds": SoftBounds(n_pulses=60, asymmetry=0.3, sigma_c2c=0.004, d2d_step=0.2, d2d_bounds=0.05),
    "nearly_linear": SoftBounds(n_pulses=1_000_000, asymmetry=0.2, sigma_c2c=0.004, d2d_step=0.2),
    "exp_accelerating": ExpLtpLtd(n_ltp=60, n_ltd=60, nonlinearity_ltp=-1.5, nonlinearity_ltd=2.0, sigma_c2c=0.004),
}


def test_shape_spans_several_blocks():
    assert SHAPE[0] * SHAPE[1] > 2 * _saturating.BLOCK and (SHAPE[0] * SHAPE[1]) % _saturating.BLOCK


@pytest.mark.parametrize("name", sorted(CASES))
def test_noiseless_blocked_update_equals_exact_mean(name):
    response = dataclasses.replace(CASES[name], sigma_c2c=0.0)
    gen = torch.Generator().manual_seed(0)
    params = response.sample(SHAPE, gen)
    g0 = params["g_min"] + 0.4 * (params["g_max"] - params["g_min"])
    n = torch.randint(-31, 32, SHAPE, generator=gen, dtype=torch.int32)
    out = response.pulse_dense(g0, n, params, gen)
    p64 = {k: v.double() for k, v in params.items()}
    mean, _ = response.moments(g0.double(), n, p64)
    mean = torch.minimum(torch.maximum(mean, p64["g_min"]), p64["g_max"])
    step = (mean - g0.double()).abs()
    err = (out.double() - mean).abs()
    # float32 result: error within a few ulps of g plus a small relative error of the step.
    ulp = g0.double().abs() * 2.0**-23
    assert bool((err <= 4 * ulp + 1e-5 * step).all()), float((err - 4 * ulp).max())
    assert torch.equal(out[n == 0], g0[n == 0])


@pytest.mark.parametrize("name", sorted(CASES))
def test_noisy_blocked_update_has_exact_moments(name):
    response = CASES[name]
    gen = torch.Generator().manual_seed(1)
    params = response.sample(SHAPE, gen, dtype=torch.float64)
    span = params["g_max"] - params["g_min"]
    g0 = params["g_min"] + 0.45 * span
    n = torch.randint(1, 8, SHAPE, generator=gen, dtype=torch.int32)
    n = torch.where(torch.rand(SHAPE, generator=gen) < 0.5, n, -n)
    out = response.pulse_dense(g0, n, params, gen)
    mean, var = response.moments(g0, n, params)
    z = (out - mean) / var.sqrt()
    m = z.numel()
    assert abs(float(z.mean())) < 5 / m**0.5
    assert abs(float(z.var()) - 1.0) < 5 * (2.0 / m) ** 0.5
    g_same = response.pulse_dense(g0, torch.zeros_like(n), params, gen)
    assert torch.equal(g_same, g0)


@pytest.mark.parametrize("name", sorted(CASES))
def test_noisy_float32_update_with_many_unpulsed_devices(name):
    # Half the devices get n = 0: they keep g bit for bit (their noise is zeroed, not just tiny),
    # the others follow the exact moments. float32 is the dtype of real runs.
    response = CASES[name]
    gen = torch.Generator().manual_seed(2)
    params = response.sample(SHAPE, gen)
    g0 = params["g_min"] + 0.45 * (params["g_max"] - params["g_min"])
    n = torch.randint(-7, 8, SHAPE, generator=gen, dtype=torch.int32)
    n = torch.where(torch.rand(SHAPE, generator=gen) < 0.5, n, torch.zeros_like(n))
    out = response.pulse_dense(g0, n, params, gen)
    assert torch.equal(out[n == 0], g0[n == 0])
    mean, var = response.moments(g0.double(), n, {k: v.double() for k, v in params.items()})
    pulsed = n != 0
    z = ((out.double() - mean) / var.sqrt())[pulsed]
    m = z.numel()
    assert abs(float(z.mean())) < 5 / m**0.5
    assert abs(float(z.var()) - 1.0) < 5 * (2.0 / m) ** 0.5


def test_unpulsed_devices_keep_tiny_conductances_exactly():
    # At picosiemens-scale conductances one ulp of g is far below sqrt(float32 tiny): the noise of
    # n = 0 devices must be exactly zero, not merely small.
    response = SoftBounds(g_min=1e-15, g_max=1e-14, n_pulses=60, sigma_c2c=0.004, d2d_step=0.2)
    gen = torch.Generator().manual_seed(3)
    params = response.sample(SHAPE, gen)
    g0 = params["g_min"] + 0.3 * (params["g_max"] - params["g_min"])
    n = torch.randint(-3, 4, SHAPE, generator=gen, dtype=torch.int32)
    out = response.pulse_dense(g0, n, params, gen)
    assert bool((n == 0).any()) and torch.equal(out[n == 0], g0[n == 0])
    assert bool((out[n != 0] != g0[n != 0]).all())


@pytest.mark.parametrize("noisy", [False, True])
def test_blocking_does_not_change_the_result(noisy, monkeypatch):
    # The blocked CPU path draws the same Gaussian stream in the same order as one block over the
    # whole array (the path other devices take), so the split changes nothing beyond rounding.
    response = CASES["soft_bounds"] if noisy else dataclasses.replace(CASES["soft_bounds"], sigma_c2c=0.0)
    params = response.sample(SHAPE, torch.Generator().manual_seed(4))
    g0 = params["g_min"] + 0.5 * (params["g_max"] - params["g_min"])
    n = torch.randint(-31, 32, SHAPE, generator=torch.Generator().manual_seed(5), dtype=torch.int32)
    blocked = response.pulse_dense(g0, n, params, torch.Generator().manual_seed(6))
    monkeypatch.setattr(_saturating, "BLOCK", SHAPE[0] * SHAPE[1])
    single = response.pulse_dense(g0, n, params, torch.Generator().manual_seed(6))
    torch.testing.assert_close(blocked, single, rtol=1e-6, atol=0.0)


def test_same_generator_state_gives_the_same_update():
    response = CASES["soft_bounds"]
    params = response.sample(SHAPE, torch.Generator().manual_seed(7))
    g0 = params["g_min"] + 0.5 * (params["g_max"] - params["g_min"])
    n = torch.randint(-31, 32, SHAPE, generator=torch.Generator().manual_seed(8), dtype=torch.int32)
    first = response.pulse_dense(g0, n, params, torch.Generator().manual_seed(9))
    second = response.pulse_dense(g0, n, params, torch.Generator().manual_seed(9))
    other = response.pulse_dense(g0, n, params, torch.Generator().manual_seed(10))
    assert torch.equal(first, second)
    assert not torch.equal(first, other)
