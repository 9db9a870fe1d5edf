"""Closed-form n-pulse responses against the pulse-by-pulse loop they compose."""

from __future__ import annotations

import math

import pytest
import torch

from memlearn.devices import Device, ExpLtpLtd, Ideal, LinearStep, PCMResponse, SoftBounds, get_preset

M = 20000  # devices per statistical check
NOISY = {
    "soft_bounds": SoftBounds(n_pulses=60, asymmetry=0.3, sigma_c2c=0.004, d2d_step=0.2, d2d_bounds=0.05),
    "linear_step": LinearStep(states=100, asymmetry=-0.2, sigma_c2c=0.003, d2d_step=0.2, d2d_asymmetry=0.05),
    "exp_saturating": ExpLtpLtd(n_ltp=80, n_ltd=90, nonlinearity_ltp=2.4, nonlinearity_ltd=-4.88, sigma_c2c=0.004,
                                d2d_nonlinearity=0.3, d2d_step=0.1),
    "exp_opposite": ExpLtpLtd(n_ltp=60, n_ltd=60, nonlinearity_ltp=-1.5, nonlinearity_ltd=2.0, sigma_c2c=0.004),
    "pcm": PCMResponse(n_set=25, sigma_c2c=0.004, reset_level=0.3, sigma_reset=0.02, d2d_step=0.2),
}


def _loop(response, g, n: int, params, gen):
    """Reference: |n| single pulses, one after another."""
    one = torch.full(g.shape, 1 if n > 0 else -1, dtype=torch.int32)
    for _ in range(abs(n)):
        g = response.pulse(g, one, params, gen)
    return g


@pytest.mark.parametrize("name", sorted(NOISY))
@pytest.mark.parametrize("n", [6, -6])
def test_closed_form_matches_loop_in_mean_and_variance(name, n):
    response = NOISY[name]
    gen = torch.Generator().manual_seed(1)
    params = response.sample((M,), gen, dtype=torch.float64)
    span = params["g_max"] - params["g_min"]
    g0 = params["g_min"] + 0.45 * span  # far from both bounds: clipping never acts
    fast = response.pulse(g0, torch.full((M,), n, dtype=torch.int32), params, gen)
    slow = _loop(response, g0, n, params, gen)
    # Compare per-device deviations from the exact mean (removes the d2d spread of the means).
    mean, var = response.moments(g0, torch.full((M,), n), params)
    zf, zs = (fast - mean) / span, (slow - mean) / span
    v = float((var / span**2).mean())
    assert v > 0
    se_mean = math.sqrt(2 * v / M)
    assert abs(float(zf.mean() - zs.mean())) < 5 * se_mean
    se_var = v * math.sqrt(2.0 / M) * math.sqrt(2.0)
    assert abs(float(zf.var() - zs.var())) < 5 * se_var
    assert abs(float(zf.var()) - v) < 5 * v * math.sqrt(2.0 / M)


@pytest.mark.parametrize("name", sorted(NOISY))
def test_exact_moments_compose_one_pulse_recursion(name):
    response = NOISY[name]
    gen = torch.Generator().manual_seed(2)
    params = response.sample((64,), gen, dtype=torch.float64)
    g0 = params["g_min"] + 0.3 * (params["g_max"] - params["g_min"])
    for sign in (1, -1):
        mean, var = g0.clone(), torch.zeros_like(g0)
        one = torch.full((64,), sign)
        for k in range(1, 9):
            m1, v1 = response.moments(mean, one, params)
            # Affine one-pulse map: the new variance is slope^2 var + one-pulse variance.
            slope = response.moments(mean + 1e-9, one, params)[0] - m1
            mean, var = m1, (slope / 1e-9) ** 2 * var + v1
            if isinstance(response, PCMResponse) and sign < 0:
                var = v1  # RESET forgets the past
            mk, vk = response.moments(g0, torch.full((64,), sign * k), params)
            torch.testing.assert_close(mk, mean, rtol=1e-9, atol=1e-15)
            torch.testing.assert_close(vk, var, rtol=1e-5, atol=1e-24)


def test_linear_step_gives_exactly_n_steps_and_clips():
    resp = LinearStep(g_min=1e-6, g_max=1e-5, states=90, asymmetry=0.25)
    params = resp.sample((3,), torch.Generator().manual_seed(0), dtype=torch.float64)
    g0 = torch.full((3,), 5e-6, dtype=torch.float64)
    n = torch.tensor([4, -4, 1000])
    out = resp.pulse(g0, n, params, torch.Generator())
    step = 9e-6 / 90
    expected = torch.tensor([5e-6 + 4 * 1.25 * step, 5e-6 - 4 * 0.75 * step, 1e-5], dtype=torch.float64)
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=0)


def test_soft_bounds_closed_form_value():
    resp = SoftBounds(g_min=1e-6, g_max=1e-5, n_pulses=50)
    params = resp.sample((1,), torch.Generator(), dtype=torch.float64)
    g0 = torch.tensor([2e-6], dtype=torch.float64)
    up = resp.pulse(g0, torch.tensor([7]), params, torch.Generator())
    down = resp.pulse(g0, torch.tensor([-7]), params, torch.Generator())
    assert float(up) == pytest.approx(1e-5 - 8e-6 * 0.98**7, rel=1e-12)
    assert float(down) == pytest.approx(1e-6 + 1e-6 * 0.98**7, rel=1e-12)


def test_exp_ltp_ltd_spans_the_range_in_n_pulses():
    resp = ExpLtpLtd(g_min=3.0769e-9, g_max=3.8462e-8, n_ltp=97, n_ltd=100, nonlinearity_ltp=2.4,
                     nonlinearity_ltd=-4.88)
    params = resp.sample((1,), torch.Generator(), dtype=torch.float64)
    gmin, gmax = params["g_min"], params["g_max"]
    top = resp.pulse(gmin, torch.tensor([97]), params, torch.Generator())
    bottom = resp.pulse(gmax, torch.tensor([-100]), params, torch.Generator())
    torch.testing.assert_close(top, gmax, rtol=1e-9, atol=0)
    torch.testing.assert_close(bottom, gmin, rtol=1e-7, atol=0)
    # Positive LTP label: the first potentiation step is larger than the last; negative LTD label:
    # the first depression step (from G_max) is larger than the last.
    first_up = resp.step_at(gmin, params, up=True)
    last_up = gmax - resp.moments(gmax, torch.tensor([-1]), params)[0]
    assert float(first_up) > 3 * float(resp.step_at(gmax - (gmax - gmin) * 0.01, params, up=True))
    assert float(-resp.step_at(gmax, params, up=False)) > 3 * float(-resp.step_at(gmin + 1e-11, params, up=False))
    assert float(last_up) > 0
    # Half the LTP pulses give much more than half the range for NL = 2.4.
    half = resp.pulse(gmin, torch.tensor([48]), params, torch.Generator())
    assert float((half - gmin) / (gmax - gmin)) > 0.7


def test_pcm_reset_is_abrupt_whatever_the_count():
    resp = PCMResponse(g_min=1e-7, g_max=2e-5, n_set=20, reset_level=0.0, sigma_reset=0.0)
    params = resp.sample((4,), torch.Generator(), dtype=torch.float64)
    g0 = torch.full((4,), 1.5e-5, dtype=torch.float64)
    out = resp.pulse(g0, torch.tensor([-1, -3, -30, 2]), params, torch.Generator())
    torch.testing.assert_close(out[:3], torch.full((3,), 1e-7, dtype=torch.float64))
    assert 1.5e-5 < float(out[3]) < 2e-5


@pytest.mark.parametrize("name", sorted(NOISY))
def test_sparse_path_equals_dense_path_without_noise(name):
    import dataclasses
    response = dataclasses.replace(NOISY[name], sigma_c2c=0.0)
    gen = torch.Generator().manual_seed(3)
    params = response.sample((200, 300), gen)
    g0 = params["g_min"] + 0.5 * (params["g_max"] - params["g_min"])
    n = torch.randint(-9, 10, (200, 300), generator=gen, dtype=torch.int32)
    n = torch.where(torch.rand((200, 300), generator=gen) < 0.02, n, torch.zeros_like(n))
    if isinstance(response, PCMResponse):
        response = dataclasses.replace(response, sigma_reset=0.0)
    sparse = response.pulse(g0, n, params, torch.Generator().manual_seed(0))
    dense = response.pulse_dense(g0, n, params, torch.Generator().manual_seed(0))
    torch.testing.assert_close(sparse, dense)


def test_n_states_follow_from_parameters():
    gen = torch.Generator()
    assert float(Ideal(states=250).n_states(Ideal(states=250).sample((1,), gen))) == pytest.approx(250, rel=1e-5)
    lin = LinearStep(states=100, asymmetry=0.25)
    assert float(lin.n_states(lin.sample((1,), gen))) == pytest.approx(80, rel=1e-5)
    sb = SoftBounds(n_pulses=100)
    assert float(sb.n_states(sb.sample((1,), gen))) == pytest.approx(200, rel=1e-4)
    dev = get_preset("TaOx_HfOx")
    assert float(dev.n_states(dev.sample((1,), gen))) == 128


def test_device_to_moves_state_between_devices():
    dev = Device(response=SoftBounds(sigma_c2c=0.01, d2d_step=0.1))
    state = dev.sample((4, 5), torch.Generator().manual_seed(0))
    moved = state.to("cpu")
    for key, value in state.flat().items():
        torch.testing.assert_close(moved.flat()[key], value)
