"""Cycle-to-cycle noise proportional to the step (aihwkit's ``mult_noise``) against a pulse-by-pulse loop."""

from __future__ import annotations

import pytest
import torch

from memlearn.devices.responses import SoftBounds


def _pulse_by_pulse(g: torch.Tensor, n: int, params: dict, sigma: float, gen: torch.Generator) -> torch.Tensor:
    """aihwkit's per-pulse rule ``w += (slope w + scale)(1 + sigma xi)``, i.e. in conductance
    ``g += (1 - q)(c - g)(1 + sigma xi)``, applied |n| times (no clipping)."""
    up = n > 0
    lk = params["log_keep_mid"] + (params["log_keep_half"] if up else -params["log_keep_half"])
    c = params["target_mid"] + (params["target_half"] if up else -params["target_half"])
    alpha = -torch.expm1(lk)
    for _ in range(abs(n)):
        g = g + alpha * (c - g) * (1 + sigma * torch.randn(g.shape, generator=gen, dtype=g.dtype))
    return g


@pytest.mark.parametrize("n", [1, 7, -5, 30])
def test_closed_form_moments_match_the_pulse_loop(n):
    response = SoftBounds(g_min=1e-6, g_max=1e-5, n_pulses=20, asymmetry=0.3, sigma_c2c=0.3,
                          c2c_noise="multiplicative")
    m = 200_000
    params = {k: v.double() for k, v in response.sample((m,), torch.Generator().manual_seed(0)).items()}
    g0 = torch.full((m,), 4e-6, dtype=torch.float64)
    mc = _pulse_by_pulse(g0, n, params, 0.3, torch.Generator().manual_seed(1))
    mean, var = response.moments(g0, torch.full((m,), n, dtype=torch.int32), params)
    se = (mc.var() / m).sqrt()
    assert abs(float(mc.mean() - mean.mean())) < 5 * float(se)
    # variance of the mean of the per-device variances vs the sample variance around the mean
    resid = ((mc - mean) ** 2).mean()
    assert float(resid / var.mean()) == pytest.approx(1.0, abs=5 * (2 / m) ** 0.5 * 2)


def test_affine_maps_carry_the_state_dependent_noise():
    """Once xi is drawn the map is affine in g; its spread at any g is the closed-form variance."""
    response = SoftBounds(n_pulses=40, asymmetry=-0.2, sigma_c2c=0.3, c2c_noise="multiplicative", d2d_step=0.2)
    params = response.sample((1000,), torch.Generator().manual_seed(2))
    n = torch.randint(-15, 16, (1000,), generator=torch.Generator().manual_seed(3), dtype=torch.int32)
    g = params["g_min"] + torch.rand(1000, generator=torch.Generator().manual_seed(4)) * (params["g_max"] - params["g_min"])
    a0, b0 = response.affine_maps(n, params, torch.zeros(1000))
    a1, b1 = response.affine_maps(n, params, torch.ones(1000))
    mean, var = response.moments(g, n, params)
    scale = float(params["g_max"].max())
    assert torch.allclose(g + a0 * g + b0, mean, rtol=1e-5, atol=1e-6 * scale)
    spread = (g + a1 * g + b1) - (g + a0 * g + b0)
    assert torch.allclose(spread.square(), var, rtol=1e-3, atol=1e-9 * scale**2)
    assert bool((spread[n == 0] == 0).all())


def test_multiplicative_noise_vanishes_at_the_bound_it_approaches():
    response = SoftBounds(n_pulses=10, sigma_c2c=0.5, c2c_noise="multiplicative")
    params = response.sample((4,), torch.Generator().manual_seed(0))
    _, var = response.moments(params["g_max"].clone(), torch.full((4,), 3, dtype=torch.int32), params)
    assert torch.allclose(var, torch.zeros(4))


def test_unknown_noise_mode_is_named():
    with pytest.raises(ValueError, match="c2c_noise"):
        SoftBounds(c2c_noise="sometimes")
