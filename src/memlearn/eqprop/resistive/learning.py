"""Equilibrium propagation in a resistive network: two steady states, a local rule, pulses.

``dL/dG_ij = (1 / (2 (beta_A - beta_B))) <dV_ij(A)^2 - dV_ij(B)^2>`` (batch mean), because
``dF/dG_ij = dV_ij^2 / 2`` (Kendall et al., arXiv 2020, Eq. 7; Scellier, ICML 2024, Eq. 4). The
conductance then moves by ``-lr dL/dG`` worth of programming pulses on its memristor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor

from memlearn.validation import check_range
from memlearn.eqprop.resistive.network import ResistiveNetwork
from memlearn.eqprop.resistive.solvers import CircuitSolution, SolverConfig, solve_exact, solve_fast

SolverName = Literal["fast", "exact"]


@dataclass(frozen=True, kw_only=True)
class ResistiveEPConfig:
    """How a resistive network learns."""

    beta: float = 1e-6
    """Nudging conductance (S, > 0): the output nodes receive ``beta (t - v)`` amperes."""
    symmetric: bool = True
    """Contrast ``+beta`` with ``-beta`` (Laborieux et al. 2021) instead of ``+beta`` with the free state."""
    lr: float = 3e-7
    """Learning rate (S^2/V^2): ``Delta G = -lr dL/dG`` with the loss L in V^2 and G in S."""
    max_pulses: int = 15
    """Largest pulse count per device per update (>= 1)."""
    solver: SolverName = "fast"
    """``fast`` (block coordinate descent) or ``exact`` (Newton) steady states."""
    solver_config: SolverConfig = field(default_factory=SolverConfig)
    """Stopping rules of the solver."""

    def __post_init__(self) -> None:
        check_range("resistive_ep.beta", self.beta, 1e-15, 1.0)
        check_range("resistive_ep.lr", self.lr, 0.0, 1.0)
        check_range("resistive_ep.max_pulses", self.max_pulses, 1, 1e6)
        if self.solver not in ("fast", "exact"):
            raise ValueError(f"resistive_ep.solver={self.solver!r} is not one of ['fast', 'exact']")


def steady_state(network: ResistiveNetwork, x: Tensor, target: Tensor | None = None, beta: float = 0.0,
                 solver: SolverName = "fast", config: SolverConfig = SolverConfig(),
                 start: tuple[Tensor, ...] | None = None) -> CircuitSolution:
    """Steady state of ``network`` for inputs ``x`` (batch, n_inputs) in [0, 1], optionally nudged
    toward one-hot ``target`` (batch, n_classes) with conductance ``beta`` (S)."""
    g = network.conductances()
    v_in = network.input_voltages(x)
    t = None if target is None else network.target_voltages(target)
    solve = solve_fast if solver == "fast" else solve_exact
    return solve(g, network.config.diode, v_in, t, beta, config, start)


def _mean_sq_drop(a: Tensor, b: Tensor) -> Tensor:
    """``<(a_i - b_j)^2>`` over the batch, (n_a, n_b), without the (batch, n_a, n_b) tensor."""
    return (a * a).mean(0)[:, None] + (b * b).mean(0)[None, :] - 2.0 * (a.T @ b) / a.shape[0]


def resistive_gradients(network: ResistiveNetwork, v_in: Tensor, phase_a: CircuitSolution,
                        phase_b: CircuitSolution, dbeta: float) -> list[Tensor]:
    """EP's estimate of ``dL/dG`` (V^2/S) for every crossbar, from two steady states whose betas
    differ by ``dbeta`` (S)."""
    la, lb = [v_in] + list(phase_a.voltages), [v_in] + list(phase_b.voltages)
    return [(_mean_sq_drop(la[k], la[k + 1]) - _mean_sq_drop(lb[k], lb[k + 1])) / (2.0 * dbeta)
            for k in range(len(network.crossbars))]


class ResistiveEP:
    """Trains a :class:`ResistiveNetwork` by EP; conductances change only by pulses.

    The pulse count of a device is ``-lr dL/dG / dg`` rounded stochastically (unbiased; Gokmen &
    Vlasov, Front. Neurosci. 2016) and clipped to ``max_pulses``, with ``dg`` the device model's
    nominal step at mid-range, so the device's real (nonlinear, noisy) response decides the change.
    """

    def __init__(self, network: ResistiveNetwork, config: ResistiveEPConfig) -> None:
        self.network, self.config = network, config
        steps = []
        for bar in network.crossbars:
            state = bar.state
            mid = 0.5 * (state.g_min + state.g_max)
            resp = bar.device_model.response
            up = resp.step_at(mid, state.params, up=True).abs().mean()
            down = resp.step_at(mid, state.params, up=False).abs().mean()
            steps.append(float(0.5 * (up + down)))
        self.nominal_steps = steps

    def step(self, x: Tensor, target: Tensor) -> dict:
        """One EP update on a batch (inputs in [0, 1], one-hot targets); returns the free-phase
        cost (V^2), training correctness, solver sweeps and pulses applied."""
        c, net = self.config, self.network
        free = steady_state(net, x, solver=c.solver, config=c.solver_config)
        nudged = steady_state(net, x, target, c.beta, c.solver, c.solver_config, free.voltages)
        if c.symmetric:
            other = steady_state(net, x, target, -c.beta, c.solver, c.solver_config, free.voltages)
            dbeta = 2.0 * c.beta
        else:
            other, dbeta = free, c.beta
        grads = resistive_gradients(net, net.input_voltages(x), nudged, other, dbeta)
        pulses = 0
        with torch.no_grad():
            for bar, grad, dg in zip(net.crossbars, grads, self.nominal_steps):
                want = (-c.lr * grad / dg).to(bar.g.dtype)
                u = torch.rand(want.shape, generator=net.generator, device=want.device, dtype=want.dtype)
                n = torch.floor(want + u).clamp_(-c.max_pulses, c.max_pulses).to(torch.int32)
                pulses += int(bar.apply_pulses(n, net.generator))
        t = net.target_voltages(target)
        out = free.voltages[-1]
        return {"loss": float(0.5 * ((out - t) ** 2).sum(1).mean()),
                "correct": int((net.readout(out).argmax(1) == target.argmax(1)).sum()),
                "sweeps": free.n_iterations, "pulses": pulses}


@torch.no_grad()
def evaluate_resistive(network: ResistiveNetwork, x: Tensor, y: Tensor, solver: SolverName = "fast",
                       config: SolverConfig = SolverConfig(), batch_size: int = 500) -> float:
    """Accuracy (fraction) of ``argmax(v+ - v-)`` at the free steady state against labels ``y``."""
    correct = 0
    for start in range(0, int(x.shape[0]), batch_size):
        sol = steady_state(network, x[start:start + batch_size], solver=solver, config=config)
        correct += int((network.readout(sol.voltages[-1]).argmax(1) == y[start:start + batch_size]).sum())
    return correct / max(int(x.shape[0]), 1)
