"""Relaxation: energy descent, fixed-point optimality, convergence report, purity, validation."""

from __future__ import annotations

import pytest
import torch

from memlearn.eqprop import EnergyNetwork, NudgeConfig, RelaxConfig, energy, relax, relax_tensors, signed_betas, total_energy


def _net_and_input(seed: int = 0, sizes=(12, 8, 6, 4)):
    g = torch.Generator().manual_seed(seed)
    net = EnergyNetwork(sizes, seed=seed)
    x = torch.rand(16, sizes[0], generator=g)
    return net, x


def test_block_sweeps_never_raise_the_energy():
    net, x = _net_and_input()
    w, b = net.weight_matrices(), net.bias_vectors()
    target = torch.nn.functional.one_hot(torch.arange(16) % 4, 4).float()
    state = net.zero_state(x)
    previous = total_energy(w, b, x, state, target, 0.3)
    for _ in range(8):
        state = relax_tensors(w, b, x, state, RelaxConfig(max_steps=1, tol=0.0), target, 0.3).state
        now = total_energy(w, b, x, state, target, 0.3)
        assert bool((now <= previous + 1e-6).all())
        previous = now


def test_equilibrium_is_a_fixed_point_of_the_hard_sigmoid_map():
    net, x = _net_and_input()
    res = relax(net, x, net.zero_state(x), RelaxConfig(max_steps=500, tol=1e-7))
    assert bool(res.converged.all())
    w, b = net.weight_matrices(), net.bias_vectors()
    s = res.state
    h1 = x @ w[0].T + s[1] @ w[1] + b[0]
    h2 = s[0] @ w[1].T + s[2] @ w[2] + b[1]
    h3 = s[1] @ w[2].T + b[2]
    for h, si in zip((h1, h2, h3), s):
        torch.testing.assert_close(si, h.clamp(0, 1), atol=1e-5, rtol=0)


def test_step_count_and_convergence_are_reported_per_sample():
    net, x = _net_and_input()
    loose = relax(net, x, net.zero_state(x), RelaxConfig(max_steps=200, tol=1e-2))
    tight = relax(net, x, net.zero_state(x), RelaxConfig(max_steps=200, tol=1e-6))
    assert loose.n_steps.shape == (16,) and bool(loose.converged.all())
    assert bool((tight.n_steps >= loose.n_steps).all()) and int(tight.n_steps.max()) > int(loose.n_steps.max())
    capped = relax(net, x, net.zero_state(x), RelaxConfig(max_steps=1, tol=0.0))
    assert not bool(capped.converged.any()) and bool((capped.n_steps == 1).all())


def test_relax_is_pure_and_stays_in_the_box():
    net, x = _net_and_input()
    start = tuple(torch.rand(16, n) for n in (8, 6, 4))
    copies = tuple(s.clone() for s in start)
    g_before = [t.array.g.clone() for t in net.tiles()]
    res = relax(net, x, start, RelaxConfig(max_steps=20))
    for s, c in zip(start, copies):
        assert torch.equal(s, c)
    for t, g in zip(net.tiles(), g_before):
        assert torch.equal(t.array.g, g)
    for s in res.state:
        assert float(s.min()) >= 0.0 and float(s.max()) <= 1.0


def test_energy_of_zero_state_is_zero_and_input_only_enters_through_w0():
    net, x = _net_and_input()
    e = energy(net.weight_matrices(), net.bias_vectors(), x, net.zero_state(x))
    torch.testing.assert_close(e, torch.zeros(16))


@pytest.mark.parametrize("kwargs", [dict(max_steps=0), dict(tol=-1.0), dict(step_size=0.0), dict(step_size=1.5)])
def test_relax_config_rejects_bad_values(kwargs):
    with pytest.raises(ValueError, match="relax"):
        RelaxConfig(**kwargs)


@pytest.mark.parametrize("kwargs", [dict(beta=0.0), dict(beta=1.0), dict(mode="both")])
def test_nudge_config_rejects_bad_values(kwargs):
    with pytest.raises(ValueError, match="nudge"):
        NudgeConfig(**kwargs)


def test_signed_betas_cover_the_three_modes():
    g = torch.Generator().manual_seed(0)
    assert signed_betas(NudgeConfig(beta=0.2, mode="positive"), g) == (0.2,)
    assert signed_betas(NudgeConfig(beta=0.2, mode="symmetric"), g) == (0.2, -0.2)
    draws = [signed_betas(NudgeConfig(beta=0.2, mode="random_sign"), g)[0] for _ in range(200)]
    assert set(draws) == {0.2, -0.2}
    # 200 fair coin flips: the count of + lies within 4 sigma (sigma = sqrt(200)/2 ~ 7.1) of 100
    assert abs(sum(d > 0 for d in draws) - 100) < 29
