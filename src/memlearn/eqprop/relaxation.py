"""Relaxation to equilibrium: exact block-coordinate minimisation of ``F = E + beta C``.

State in, state out: nothing in the network changes. Vectorised over the batch.

The input layer is clamped and the weights do not change during a relaxation, so the first
layer's input drive ``W_0 x + b_1`` is read once per relaxation and reused by every sweep (on a
tile: one read of the clamped input through the circuit per phase, its read noise drawn once for
the phase; the other products are read at every sweep, as their inputs move).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import Tensor

from memlearn.validation import check_range
from memlearn.eqprop.network import EnergyNetwork
from memlearn.nn.tile import AnalogTile

_MatVec = Callable[[Tensor], Tensor]


@dataclass(frozen=True, kw_only=True)
class RelaxConfig:
    """How a phase relaxes.

    One step is one sweep: the odd free layers, then the even ones, each moved toward its exact
    block minimiser of ``F`` (layers of a layered Hopfield net are not connected within
    themselves, so a layer's block is a separable box-constrained quadratic whose minimiser is a
    clip). With ``step_size = 1`` this is exact block-coordinate descent, which never raises
    ``F``; ``step_size < 1`` is the damped fixed-point iteration ``s <- (1-eps) s + eps rho(dF...)``
    of Scellier & Bengio 2017 (Sec. 5, eps = 0.5).
    """

    max_steps: int = 50
    """Largest number of sweeps (>= 1)."""
    tol: float = 1e-4
    """A sample has converged when no unit moved by more than ``tol`` in a sweep (units of the
    state, which lives in [0, 1]; >= 0). Relaxation stops when every sample has converged."""
    step_size: float = 1.0
    """Fraction of the way to the block minimiser taken per sweep (0 < eps <= 1)."""

    def __post_init__(self) -> None:
        check_range("relax.max_steps", self.max_steps, 1, 1e7)
        check_range("relax.tol", self.tol, 0.0, 1.0)
        check_range("relax.step_size", self.step_size, 1e-6, 1.0)


@dataclass(frozen=True)
class RelaxResult:
    """Outcome of one relaxation.

    Args:
        state: free layers at the end, each (batch, n_l).
        n_steps: per sample, sweeps until it converged (``max_steps`` when it did not), (batch,) int64.
        converged: per sample, whether the criterion was met, (batch,) bool.
        residual: per sample, the largest unit change in the last sweep, (batch,).
        n_sweeps: sweeps actually run for the batch.
    """

    state: tuple[Tensor, ...]
    n_steps: Tensor
    converged: Tensor
    residual: Tensor
    n_sweeps: int


def _sweep(fwd: Sequence[_MatVec], bwd: Sequence[_MatVec], biases: Sequence[Tensor], drive: Tensor,
           state: list[Tensor], target: Tensor | None, beta: float, step_size: float) -> Tensor:
    """One odd-then-even block sweep; updates ``state`` (a fresh list) and returns the per-sample
    largest change. ``drive``: the clamped input's drive ``W_0 x + b_1`` of the first free layer."""
    n_free = len(state)
    change = torch.zeros(drive.shape[0], dtype=drive.dtype, device=drive.device)
    for parity in (0, 1):
        for k in range(parity, n_free, 2):  # k indexes free layers: layer k+1 of the network
            h = drive if k == 0 else fwd[k](state[k - 1]) + biases[k]
            if k + 1 < n_free:
                h = h + bwd[k + 1](state[k + 1])
                best = h.clamp(0.0, 1.0)
            elif target is not None and beta != 0.0:
                best = ((h + beta * target) / (1.0 + beta)).clamp(0.0, 1.0)
            else:
                best = h.clamp(0.0, 1.0)
            new = best if step_size == 1.0 else state[k] + step_size * (best - state[k])
            change = torch.maximum(change, (new - state[k]).abs().amax(1))
            state[k] = new
    return change


def _run(fwd, bwd, biases, x, state, config: RelaxConfig, target, beta) -> RelaxResult:
    if target is not None and beta != 0.0 and not -1.0 < beta:
        raise ValueError(f"beta={beta!r} must be > -1 (the nudged output block must stay convex)")
    s = list(state)
    batch = x.shape[0]
    n_steps = torch.full((batch,), config.max_steps, dtype=torch.int64, device=x.device)
    converged = torch.zeros(batch, dtype=torch.bool, device=x.device)
    residual = torch.full((batch,), float("inf"), dtype=x.dtype, device=x.device)
    sweeps = 0
    drive = fwd[0](x) + biases[0]  # the clamped input and the weights do not change: read once
    for step in range(1, config.max_steps + 1):
        residual = _sweep(fwd, bwd, biases, drive, s, target, beta, config.step_size)
        sweeps = step
        now = residual <= config.tol
        n_steps = torch.where(now & ~converged, torch.full_like(n_steps, step), n_steps)
        converged = converged | now
        if bool(converged.all()):
            break
    return RelaxResult(state=tuple(s), n_steps=n_steps, converged=converged, residual=residual, n_sweeps=sweeps)


@torch.no_grad()
def relax(network: EnergyNetwork, x: Tensor, state: Sequence[Tensor], config: RelaxConfig,
          target: Tensor | None = None, beta: float = 0.0) -> RelaxResult:
    """Relax ``network`` with input ``x`` clamped from ``state`` toward the minimum of ``E + beta C``.

    Every matrix-vector product goes through the weight's circuit (``forward_circuit`` for
    ``W s``, ``backward_circuit`` for ``W^T s``), so the tiles' non-idealities act at every step;
    a tile whose reads are exactly linear (no periphery, noise, IR drop or drift:
    :meth:`AnalogTile.linear_reads`) is read once per relaxation and every sweep reuses that read
    (same products to float rounding, every read still counted in the tile's cost).

    Args:
        network: the energy network (not modified).
        x: clamped input (batch, n_0) in [0, 1].
        state: starting free state, one (batch, n_l) tensor per free layer.
        config: relaxation schedule and convergence criterion.
        target: output target (batch, n_L) for a nudged phase; None for the free phase.
        beta: nudging strength (> -1; 0 is the free phase). Scellier & Bengio 2017, Eq. 5.
    """
    if len(state) != network.n_free_layers:
        raise ValueError(f"state has {len(state)} layers, the network {network.n_free_layers} free layers")
    fwd, bwd, flushes = [], [], []
    for m in network.weights:
        # a tile whose reads are exactly linear is read once for the whole relaxation (its
        # conductances do not change during it); every sweep reuses that read, counted as a read
        reads = m.linear_reads() if isinstance(m, AnalogTile) else None
        if reads is None:
            fwd.append(m.forward_circuit)
            bwd.append(m.backward_circuit)
        else:
            fwd.append(reads[0])
            bwd.append(reads[1])
            flushes.append(reads[2])
    biases = [b.detach().to(x.dtype) for b in network.biases]
    try:
        return _run(fwd, bwd, biases, x, state, config, target, beta)
    finally:
        for flush in flushes:
            flush()


def relax_tensors(weights: Sequence[Tensor], biases: Sequence[Tensor], x: Tensor, state: Sequence[Tensor],
                  config: RelaxConfig, target: Tensor | None = None, beta: float = 0.0) -> RelaxResult:
    """The same relaxation on plain weight tensors, differentiable (for BPTT and gradient checks).

    Args:
        weights: ``W_l`` (n_{l+1}, n_l); biases: ``b_l`` (n_{l+1},); rest as :func:`relax`.
    """
    fwd = [lambda s, w=w: s @ w.T for w in weights]
    bwd = [lambda s, w=w: s @ w for w in weights]
    return _run(fwd, bwd, list(biases), x, state, config, target, beta)
