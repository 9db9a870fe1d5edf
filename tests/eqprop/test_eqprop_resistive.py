"""Resistive networks: exact and fast solvers agree, KCL holds, EP's local rule is the gradient."""

from __future__ import annotations

import pytest
import torch

from memlearn.datasets import load_digits
from memlearn.eqprop import one_hot
from memlearn.eqprop.resistive import (DiodePair, ResistiveEP, ResistiveEPConfig, ResistiveNetwork, SolverConfig,
                                       co_content, kcl_residual, resistive_gradients, solve_exact, solve_fast,
                                       steady_state)


@pytest.fixture(scope="module")
def circuit():
    data = load_digits()
    net = ResistiveNetwork([64, 24, 16, 10], seed=1)  # two hidden layers: the block sweep alternates
    x, t = data.x_train[:32], one_hot(data.y_train[:32], 10)
    return net, x, t, net.conductances(), net.input_voltages(x), net.target_voltages(t)


@pytest.mark.parametrize("beta", [0.0, 2e-6, -2e-6])
def test_exact_and_fast_solvers_agree(circuit, beta):
    net, _, _, g, v_in, t = circuit
    target = None if beta == 0.0 else t
    exact = solve_exact(g, net.config.diode, v_in, target, beta, SolverConfig(tol=1e-12))
    fast = solve_fast(g, net.config.diode, v_in, target, beta, SolverConfig(tol=1e-12, max_iterations=500))
    for a, b in zip(exact.voltages, fast.voltages):
        assert float((a - b).abs().max()) < 1e-9  # V
    # Kirchhoff's current law: imbalance tiny next to the currents flowing (~1e-4 A)
    assert float(exact.residual.max()) < 1e-12 and float(fast.residual.max()) < 1e-10
    # the diodes matter: a linear circuit would give a different steady state
    linear = DiodePair(saturation_current=1e-18)
    lin = solve_exact(g, linear, v_in, target, beta, SolverConfig(tol=1e-12))
    assert float((lin.voltages[0] - exact.voltages[0]).abs().max()) > 1e-3


def test_fast_sweeps_never_raise_the_co_content(circuit):
    net, _, _, g, v_in, _ = circuit
    diode = net.config.diode
    sol = solve_fast(g, diode, v_in, config=SolverConfig(max_iterations=1))
    previous = co_content(g, diode, v_in, sol.voltages)
    for _ in range(6):
        sol = solve_fast(g, diode, v_in, config=SolverConfig(max_iterations=1), start=sol.voltages)
        now = co_content(g, diode, v_in, sol.voltages)
        assert bool((now <= previous + 1e-15).all())
        previous = now


def test_resistive_ep_gradient_matches_autograd(circuit):
    net, _, _, g, v_in, t = circuit
    diode = net.config.diode
    leaf = [gk.clone().requires_grad_() for gk in g]
    # Newton's map has zero Jacobian in v at its fixed point, so autograd through the converged
    # iterations gives the implicit (equilibrium) gradient of the loss in the conductances.
    sol = solve_exact(leaf, diode, v_in, config=SolverConfig(tol=1e-13))
    (0.5 * ((sol.voltages[-1] - t) ** 2).sum(1).mean()).backward()
    beta = 1e-7
    a = solve_exact(g, diode, v_in, t, beta, SolverConfig(tol=1e-13))
    b = solve_exact(g, diode, v_in, t, -beta, SolverConfig(tol=1e-13))
    for est, ref in zip(resistive_gradients(net, v_in, a, b, 2 * beta), leaf):
        cos = torch.nn.functional.cosine_similarity(est.flatten(), ref.grad.flatten(), 0)
        assert float(cos) > 0.999
        assert abs(float(est.norm() / ref.grad.norm()) - 1.0) < 1e-3


def test_pulsed_updates_follow_the_ep_gradient_and_lower_the_loss():
    data = load_digits()
    net = ResistiveNetwork([64, 32, 10], seed=0)
    cfg = ResistiveEPConfig()
    ep = ResistiveEP(net, cfg)
    x, t = data.x_train[:100], one_hot(data.y_train[:100], 10)
    tv, v_in = net.target_voltages(t), net.input_voltages(x)
    loss = lambda: float(0.5 * ((steady_state(net, x).voltages[-1] - tv) ** 2).sum(1).mean())
    free = steady_state(net, x)
    a = steady_state(net, x, t, cfg.beta, start=free.voltages)
    b = steady_state(net, x, t, -cfg.beta, start=free.voltages)
    grads = resistive_gradients(net, v_in, a, b, 2 * cfg.beta)
    g0 = [bar.g.clone() for bar in net.crossbars]
    before = loss()
    info = ep.step(x, t)
    assert info["pulses"] > 0
    for bar, g, grad in zip(net.crossbars, g0, grads):
        moved = (bar.g - g).double().flatten()
        assert float(torch.nn.functional.cosine_similarity(moved, -grad.flatten(), 0)) > 0.5
        assert float(bar.g.min()) >= float(bar.state.g_min.min()) and float(bar.g.max()) <= float(bar.state.g_max.max())
    for _ in range(4):
        ep.step(x, t)
    assert loss() < before


def test_kcl_residual_is_nonzero_away_from_equilibrium(circuit):
    net, _, _, g, v_in, _ = circuit
    start = tuple(torch.zeros(v_in.shape[0], gk.shape[1], dtype=v_in.dtype) for gk in g)
    assert max(float(r.abs().max()) for r in kcl_residual(g, net.config.diode, v_in, start)) > 1e-6


def test_bad_configs_raise():
    with pytest.raises(ValueError, match="diode.v_low"):
        DiodePair(v_low=0.1, v_high=0.0)
    with pytest.raises(ValueError, match="resistive_ep.beta"):
        ResistiveEPConfig(beta=0.0)
    net = ResistiveNetwork([4, 3, 2], seed=0)
    x = torch.rand(2, 4, dtype=torch.float64)
    with pytest.raises(ValueError, match="negative nudge"):
        steady_state(net, x, torch.eye(2), beta=-1.0)
