"""The statistical PCM preset against the published fits (Nandakumar et al., ICECS 2019; Joshi et
al., Nat. Commun. 2020): programming-noise std, drift-exponent mean/std, accumulated read noise."""

from __future__ import annotations

import math

import pytest
import torch

from memlearn.devices import get_preset
from memlearn.devices.pcm_like import PCMLikeDrift

US = 1e-6
N = 200_000


def _model() -> PCMLikeDrift:
    drift = get_preset("PCM_like").drift
    assert isinstance(drift, PCMLikeDrift)
    return drift


def _folded_normal_moments(mu: float, sigma: float) -> tuple[float, float]:
    """Mean and std of |X|, X ~ N(mu, sigma)."""
    phi = 0.5 * (1 + math.erf(mu / (sigma * math.sqrt(2))))
    mean = sigma * math.sqrt(2 / math.pi) * math.exp(-mu * mu / (2 * sigma * sigma)) + mu * (2 * phi - 1)
    return mean, math.sqrt(mu * mu + sigma * sigma - mean * mean)


def test_preset_constants_are_the_papers():
    m = _model()
    assert get_preset("PCM_like").response.g_max == pytest.approx(25 * US)
    assert m.g_max == pytest.approx(25 * US) and m.t0 == 20.0 and m.t_read == pytest.approx(250e-9)
    assert m.prog_coeff == pytest.approx((0.26348 * US, 1.9650 * US, -1.1731 * US))


@pytest.mark.parametrize("g_us, std_us", [(25.0, 0.26348 + 1.9650 - 1.1731),
                                          (12.5, 0.26348 + 1.9650 / 2 - 1.1731 / 4),
                                          (5.0, 0.26348 + 1.9650 / 5 - 1.1731 / 25)])
def test_programming_noise_std_is_the_polynomial(g_us, std_us):
    m = _model()
    g = torch.full((N,), g_us * US, dtype=torch.float64)
    assert float(m.programming_std(g[:1])) == pytest.approx(std_us * US, rel=1e-9)
    g_p = m.program(g, torch.Generator().manual_seed(1))
    assert float(g_p.mean()) == pytest.approx(g_us * US, abs=4 * std_us * US / math.sqrt(N))
    assert float(g_p.std()) == pytest.approx(std_us * US, rel=0.01)


# x = G/g_max; mu = clip(-0.0155 ln x + 0.0244, 0.049, 0.1), sigma = clip(-0.0125 ln x - 0.0059, 0.008, 0.045)
@pytest.mark.parametrize("x, mu, sigma", [(1.0, 0.049, 0.008),
                                          (0.1, -0.0155 * math.log(0.1) + 0.0244, -0.0125 * math.log(0.1) - 0.0059),
                                          (0.01, 0.0244 - 0.0155 * math.log(0.01), 0.045),
                                          (0.0, 0.1, 0.045)])
def test_drift_exponent_mean_and_std_as_published(x, mu, sigma):
    m = _model()
    g = torch.full((N,), x * 25 * US, dtype=torch.float64)
    mu_fit, sigma_fit = m.nu_moments(g[:1])
    assert float(mu_fit) == pytest.approx(mu, rel=1e-9) and float(sigma_fit) == pytest.approx(sigma, rel=1e-9)
    nu = m.drift_exponents(g, torch.Generator().manual_seed(2))
    mean, std = _folded_normal_moments(mu, sigma)  # nu = |mu + sigma xi|
    assert float(nu.mean()) == pytest.approx(mean, rel=0.01)
    assert float(nu.std()) == pytest.approx(std, rel=0.01)


def test_drift_and_accumulated_read_noise_over_time():
    m = _model()
    t = 365 * 86400.0
    g = torch.full((N,), 25 * US, dtype=torch.float64)
    nu = torch.full_like(g, 0.05)
    assert float(m.apply(g, nu, t)[0]) == pytest.approx(25 * US * ((t + 20) / 20) ** -0.05, rel=1e-9)
    assert torch.equal(m.apply(g, nu, 0.0), g)
    rel = 0.0088 * math.sqrt(math.log((t + 20 + 250e-9) / (2 * 250e-9)))  # Q_s at g_max
    assert float(m.read_noise_std(g[:1], t)) == pytest.approx(rel, rel=1e-9)
    noisy = m.accumulated_noise(g, t, torch.Generator().manual_seed(3))
    assert float(noisy.std() / g[0]) == pytest.approx(rel, rel=0.01)
    # smaller conductances are relatively noisier: Q_s ~ x^-0.65, clipped at 0.2
    small = torch.full((1,), 2.5 * US, dtype=torch.float64)
    assert float(m.read_noise_std(small, t) / m.read_noise_std(g[:1], t)) == pytest.approx(10 ** 0.65, rel=1e-9)
    assert float(m.read_noise_std(torch.zeros(1), t)) == pytest.approx(0.2 * rel / 0.0088, rel=1e-6)
    # the noise grows with log time
    assert float(m.read_noise_std(g[:1], 1.0)) < float(m.read_noise_std(g[:1], 3600.0)) < rel


def test_validation_names_the_field():
    with pytest.raises(ValueError, match="pcm_like.read_q"):
        PCMLikeDrift(read_q=-1.0)
