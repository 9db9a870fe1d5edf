"""Steady state of a layered resistive network: exact (damped Newton) and fast (exact block
coordinate descent), both minimising the co-content, vectorised over the batch.

The free-node voltages ``v`` minimise ``F(v) = 1/2 sum_edges G_ij (v_i - v_j)^2 + sum_hidden D(v_k)
+ beta/2 sum_out (v_k - t_k)^2``, with ``D`` the diode pair's co-content: Kirchhoff's current law
is ``dF/dv = 0`` (Millar 1951; Kendall et al. 2020, Eq. 3), and nudging by ``beta`` (S) injects
the current ``beta (t_k - v_k)`` into output node k (Scellier, ICML 2024, Sec. 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor

from memlearn.validation import check_range
from memlearn.eqprop.resistive.diode import DiodePair


@dataclass(frozen=True, kw_only=True)
class SolverConfig:
    """Stopping rules of both solvers."""

    max_iterations: int = 100
    """Newton iterations or block sweeps, at most (>= 1)."""
    tol: float = 1e-9
    """Stop when no node voltage moved by more than ``tol`` (V, >= 0) in an iteration."""
    node_iterations: int = 40
    """Safeguarded scalar Newton iterations per hidden node in a block update (>= 1)."""

    def __post_init__(self) -> None:
        check_range("solver.max_iterations", self.max_iterations, 1, 1e7)
        check_range("solver.tol", self.tol, 0.0, 1.0)
        check_range("solver.node_iterations", self.node_iterations, 1, 1000)


@dataclass(frozen=True)
class CircuitSolution:
    """Steady state of the free nodes.

    Args:
        voltages: one (batch, n_l) tensor per free layer (hidden layers, then outputs), V.
        n_iterations: Newton iterations or block sweeps run.
        residual: per sample, the largest KCL current imbalance at the end (A), (batch,).
    """

    voltages: tuple[Tensor, ...]
    n_iterations: int
    residual: Tensor


def _degrees(g: Sequence[Tensor]) -> list[Tensor]:
    """Total conductance at each free node, per free layer (S)."""
    out = []
    for k in range(len(g)):
        d = g[k].sum(0)
        if k + 1 < len(g):
            d = d + g[k + 1].sum(1)
        out.append(d)
    return out


def kcl_residual(g: Sequence[Tensor], diode: DiodePair, v_in: Tensor, voltages: Sequence[Tensor],
                 target: Tensor | None = None, beta: float = 0.0) -> list[Tensor]:
    """Net current leaving each free node, ``dF/dv`` (A), per free layer (batch, n_l); zero at the
    steady state."""
    deg = _degrees(g)
    out = []
    for k, v in enumerate(voltages):
        below = v_in if k == 0 else voltages[k - 1]
        r = v * deg[k] - below @ g[k]
        if k + 1 < len(voltages):
            r = r - voltages[k + 1] @ g[k + 1].T + diode.current(v)
        elif target is not None and beta != 0.0:
            r = r + beta * (v - target)
        out.append(r)
    return out


def co_content(g: Sequence[Tensor], diode: DiodePair, v_in: Tensor, voltages: Sequence[Tensor],
               target: Tensor | None = None, beta: float = 0.0) -> Tensor:
    """Total co-content ``F`` (W) per sample, (batch,)."""
    layers = [v_in] + list(voltages)
    f = torch.zeros(v_in.shape[0], dtype=v_in.dtype, device=v_in.device)
    for k, gk in enumerate(g):
        a, b = layers[k], layers[k + 1]
        # sum_ij G_ij (a_i - b_j)^2 without forming the (batch, n_a, n_b) tensor
        f = f + 0.5 * ((a * a) @ gk.sum(1) + (b * b) @ gk.sum(0) - 2.0 * ((a @ gk) * b).sum(1))
    for v in voltages[:-1]:
        f = f + diode.co_content(v).sum(1)
    if target is not None and beta != 0.0:
        f = f + 0.5 * beta * ((voltages[-1] - target) ** 2).sum(1)
    return f


def _check(g: Sequence[Tensor], v_in: Tensor, target: Tensor | None, beta: float) -> None:
    if v_in.shape[1] != g[0].shape[0]:
        raise ValueError(f"v_in has {v_in.shape[1]} source nodes, the first crossbar {g[0].shape[0]} rows")
    if target is not None and target.shape[1] != g[-1].shape[1]:
        raise ValueError(f"target has {target.shape[1]} nodes, the output layer {g[-1].shape[1]}")
    if beta < 0 and -beta >= float(g[-1].sum(0).min()):
        raise ValueError(f"beta={beta!r} S: a negative nudge must be smaller than the output nodes' "
                         "conductance to ground to keep the co-content convex")


def solve_exact(g: Sequence[Tensor], diode: DiodePair, v_in: Tensor, target: Tensor | None = None,
                beta: float = 0.0, config: SolverConfig = SolverConfig(),
                start: Sequence[Tensor] | None = None) -> CircuitSolution:
    """Damped Newton on the co-content over all free nodes at once (batched dense solves).

    Hessian ``L + diag(i'(v)) + beta P_out`` (L the free-node conductance Laplacian) is positive
    definite, so Newton with backtracking (Armijo) converges to the unique minimum (Boyd &
    Vandenberghe, Convex Optimization 2004, Alg. 9.5).

    Args:
        g: conductance matrices (n_l, n_{l+1}) in S, sources first.
        diode: the hidden nodes' diode pair.
        v_in: source voltages (batch, n_0), V.
        target, beta: output targets (batch, n_L), V, and nudging conductance (S).
        start: initial voltages per free layer (default: every node at the diode's mid voltage).
    """
    _check(g, v_in, target, beta)
    sizes = [gk.shape[1] for gk in g]
    n, batch = sum(sizes), v_in.shape[0]
    dev, dt = v_in.device, v_in.dtype
    offsets = [0]
    for s in sizes:
        offsets.append(offsets[-1] + s)
    lap = torch.zeros(n, n, dtype=dt, device=dev)
    for k in range(len(g) - 1):
        lap[offsets[k]:offsets[k + 1], offsets[k + 1]:offsets[k + 2]] = -g[k + 1]
    lap = lap + lap.T + torch.diag(torch.cat(_degrees(g)))
    rhs = torch.zeros(batch, n, dtype=dt, device=dev)
    rhs[:, :offsets[1]] = v_in @ g[0]
    hidden = torch.zeros(n, dtype=torch.bool, device=dev)
    hidden[:offsets[-2]] = True
    nudge = torch.zeros(n, dtype=dt, device=dev)
    t_full = torch.zeros(batch, n, dtype=dt, device=dev)
    if target is not None and beta != 0.0:
        nudge[offsets[-2]:] = beta
        t_full[:, offsets[-2]:] = target

    def objective(v: Tensor) -> Tensor:
        diode_f = torch.where(hidden, diode.co_content(v), torch.zeros_like(v)).sum(1)
        return 0.5 * ((v @ lap) * v).sum(1) - (rhs * v).sum(1) + diode_f + 0.5 * (nudge * (v - t_full) ** 2).sum(1)

    def gradient(v: Tensor) -> Tensor:
        return v @ lap - rhs + torch.where(hidden, diode.current(v), torch.zeros_like(v)) + nudge * (v - t_full)

    if start is None:
        v = torch.full((batch, n), diode.v_mid, dtype=dt, device=dev)
    else:
        v = torch.cat([s.to(dt) for s in start], dim=1).clone()
    iterations = 0
    for iterations in range(1, config.max_iterations + 1):
        grad = gradient(v)
        curv = torch.where(hidden, diode.conductance(v), torch.zeros_like(v)) + nudge
        hess = lap.expand(batch, n, n) + torch.diag_embed(curv)
        step = torch.linalg.solve(hess, grad.unsqueeze(-1)).squeeze(-1)
        f0, slope = objective(v), (grad * step).sum(1)
        alpha = torch.ones(batch, dtype=dt, device=dev)
        for _ in range(40):  # backtracking, per sample
            ok = objective(v - alpha[:, None] * step) <= f0 - 0.25 * alpha * slope
            if bool(ok.all()):
                break
            alpha = torch.where(ok, alpha, 0.5 * alpha)
        v = v - alpha[:, None] * step
        if float((alpha[:, None] * step).detach().abs().max()) <= config.tol:
            break
    voltages = tuple(v[:, offsets[k]:offsets[k + 1]] for k in range(len(g)))
    res = torch.cat(kcl_residual(g, diode, v_in, voltages, target, beta), 1).abs().amax(1)
    return CircuitSolution(voltages=voltages, n_iterations=iterations, residual=res)


def _node_solve(a: Tensor, c: Tensor, diode: DiodePair, iterations: int) -> Tensor:
    """Root of ``a v + i(v) = c`` per node (a > 0, i monotone): safeguarded Newton in the bracket
    between the diode's zero-current voltage and ``c / a`` (Press et al., Numerical Recipes,
    ``rtsafe``)."""
    free = c / a
    mid = torch.full_like(free, diode.v_mid)
    lo, hi = torch.minimum(mid, free), torch.maximum(mid, free)
    v = free.clamp(diode.v_low, diode.v_high).clamp(lo, hi)
    for _ in range(iterations):
        f = a * v + diode.current(v) - c
        lo = torch.where(f < 0, v, lo)
        hi = torch.where(f > 0, v, hi)
        newton = v - f / (a + diode.conductance(v))
        inside = (newton > lo) & (newton < hi)
        v = torch.where(inside, newton, 0.5 * (lo + hi))
    return v


def solve_fast(g: Sequence[Tensor], diode: DiodePair, v_in: Tensor, target: Tensor | None = None,
               beta: float = 0.0, config: SolverConfig = SolverConfig(),
               start: Sequence[Tensor] | None = None) -> CircuitSolution:
    """Exact block coordinate descent: odd free layers, then even ones, each set to its exact
    minimiser given its neighbours (Scellier, ICML 2024, Alg. 1).

    Nodes of one layer share no conductance, so a layer's block problem separates into one scalar
    equation per node, ``deg_k v + i(v) = sum_j G_kj v_j`` (+ the nudging current at outputs),
    solved to machine precision; the co-content never increases. Arguments as :func:`solve_exact`.
    """
    _check(g, v_in, target, beta)
    deg = _degrees(g)
    batch, dt, dev = v_in.shape[0], v_in.dtype, v_in.device
    if start is None:
        v = [torch.full((batch, gk.shape[1]), diode.v_mid, dtype=dt, device=dev) for gk in g]
    else:
        v = [s.to(dt).clone() for s in start]
    n_free = len(g)
    sweeps = 0
    for sweeps in range(1, config.max_iterations + 1):
        moved = 0.0
        for parity in (0, 1):
            for k in range(parity, n_free, 2):
                c = (v_in if k == 0 else v[k - 1]) @ g[k]
                if k + 1 < n_free:
                    new = _node_solve(deg[k].expand_as(c), c + v[k + 1] @ g[k + 1].T, diode, config.node_iterations)
                elif target is not None and beta != 0.0:
                    new = (c + beta * target) / (deg[k] + beta)
                else:
                    new = c / deg[k]
                moved = max(moved, float((new - v[k]).abs().max()))
                v[k] = new
        if moved <= config.tol:
            break
    voltages = tuple(v)
    res = torch.cat(kcl_residual(g, diode, v_in, voltages, target, beta), 1).abs().amax(1)
    return CircuitSolution(voltages=voltages, n_iterations=sweeps, residual=res)
