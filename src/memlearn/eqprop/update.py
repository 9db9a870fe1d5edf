"""EP's local contrastive update, as UpdateRequests (analog tiles) or as ``.grad`` (float baselines).

For a layer ``W_l`` joining layer ``l`` (pre) to ``l+1`` (post), ``dF/dW_l = -rho(s_{l+1}) rho(s_l)^T``,
so with two phases A and B at nudging ``beta_A`` and ``beta_B`` the loss gradient is estimated by
``g_l = -(rho(s^A_{l+1})^T rho(s^A_l) - rho(s^B_{l+1})^T rho(s^B_l)) / ((beta_A - beta_B) batch)``
(Scellier & Bengio 2017, Eq. 10; symmetric form: Laborieux et al. 2021, Eq. 7).

How the contrast becomes a request. The two phases' products are large (units near 1) and nearly
cancel: their difference, the learning signal, is O(beta) smaller. A request that carried each
phase as its own rank-1 terms (``x = [s^A_l; s^B_l]``, ``d = [-s^A_{l+1}; s^B_{l+1}]``) is exact
in ``d^T x`` but hands the rule two big opposing updates: a stochastic pulse coder then draws
pulses for both (Poisson-like noise ~ each phase's size, not the difference's), which drowned the
signal on the chip (784-500-10 on 10,000 MNIST images: 10.9% on an ideal device against 91.4% for
float EP). The request is therefore written in the exact factorisation

``P_A^T X_A - P_B^T X_B = Pbar^T dX + dP^T Xbar``,  ``Pbar = (P_A + P_B)/2``, ``dP = P_A - P_B``
(the same for ``X``),

i.e. ``x = [dX; Xbar]``, ``d = -[Pbar; dP] / ((beta_A - beta_B) batch)``: every rank-1 term has
one *difference* factor, so the pulses a rule draws scale with the contrast. Each unit forms its
own phase mean and difference (a neuron that holds its two phase states, as EP hardware does),
so the update stays local. Layer 0's input is clamped (``dX = 0``): its request is ``dP^T x`` alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor

from memlearn.eqprop.energy import hard_sigmoid
from memlearn.eqprop.network import DigitalMatrix, EnergyNetwork
from memlearn.eqprop.relaxation import RelaxResult
from memlearn.rules.update_request import UpdateRequest


@dataclass(frozen=True)
class Phases:
    """The relaxations of one EP update.

    Args:
        free: the free phase (beta = 0).
        nudged: the nudged phases, in the order of ``betas``.
        betas: signed nudging strengths of ``nudged``.
    """

    free: RelaxResult
    nudged: tuple[RelaxResult, ...]
    betas: tuple[float, ...]

    def contrast(self) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...], float]:
        """States of the two contrasted phases (A, B) and ``beta_A - beta_B``."""
        if len(self.nudged) == 2:
            return self.nudged[0].state, self.nudged[1].state, self.betas[0] - self.betas[1]
        return self.nudged[0].state, self.free.state, self.betas[0]


def _layers(x: Tensor, state: tuple[Tensor, ...]) -> list[Tensor]:
    return [hard_sigmoid(x)] + [hard_sigmoid(s) for s in state]


def contrast_factors(x: Tensor, phases: Phases) -> list[tuple[Tensor, Tensor]]:
    """Per weight matrix ``W_l``, the request factors ``(x_l, d_l)`` with ``d_l^T x_l = g_l``, EP's
    estimate of ``dL/dW_l`` (module docstring): ``x_l = [dX; Xbar]``, ``d_l = -[Pbar; dP] / ((beta_A -
    beta_B) batch)``; layer 0 (clamped input, ``dX = 0``) keeps only ``(x, -dP / (...))``."""
    a, b, dbeta = phases.contrast()
    la, lb = _layers(x, a), _layers(x, b)
    scale = -1.0 / (dbeta * x.shape[0])
    out = []
    for l in range(len(la) - 1):
        d_post = (la[l + 1] - lb[l + 1]).mul_(scale)
        if l == 0:
            out.append((la[0], d_post))
            continue
        m_pre = (la[l] + lb[l]).mul_(0.5)
        m_post = (la[l + 1] + lb[l + 1]).mul_(0.5 * scale)
        out.append((torch.cat([la[l] - lb[l], m_pre], 0), torch.cat([m_post, d_post], 0)))
    return out


def ep_requests(network: EnergyNetwork, x: Tensor, phases: Phases, lr: float | Sequence[float]) -> list[UpdateRequest]:
    """One :class:`UpdateRequest` per weight matrix (same order as ``network.weights``), from
    :func:`contrast_factors`; ``lr`` is one rate or one per weight matrix."""
    rates = layer_rates(lr, network.n_free_layers)
    return [UpdateRequest(xr, dr, r) for (xr, dr), r in zip(contrast_factors(x, phases), rates)]


def layer_rates(lr: float | Sequence[float], n_layers: int) -> tuple[float, ...]:
    """``lr`` as one positive rate per weight matrix (a number is used for every layer)."""
    rates = (float(lr),) * n_layers if isinstance(lr, (int, float)) else tuple(float(r) for r in lr)
    if len(rates) != n_layers:
        raise ValueError(f"lr={list(rates)!r} gives {len(rates)} rates for {n_layers} weight matrices")
    for i, r in enumerate(rates):
        if not (math.isfinite(r) and r > 0):
            raise ValueError(f"lr[{i}]={r!r} must be a finite number > 0")
    return rates


def ep_gradients(network: EnergyNetwork, x: Tensor, phases: Phases, *,
                 layers: Sequence[int] | None = None) -> tuple[list[Tensor | None], list[Tensor]]:
    """EP's estimates of ``dL/dW_l`` (n_{l+1}, n_l) and ``dL/db_l`` (n_{l+1},), L the batch-mean cost.

    ``layers``: the weight matrices whose estimate is formed (default all; the others are None,
    e.g. tiles, which get theirs as requests)."""
    a, b, dbeta = phases.contrast()
    la, lb = _layers(x, a), _layers(x, b)
    scale = 1.0 / (dbeta * x.shape[0])
    n = network.n_free_layers
    wanted = set(range(n)) if layers is None else set(layers)
    gw = [(lb[l + 1].T @ lb[l] - la[l + 1].T @ la[l]) * scale if l in wanted else None for l in range(n)]
    gb = [(lb[l + 1] - la[l + 1]).sum(0) * scale for l in range(n)]
    return gw, gb


def write_ep_gradients(network: EnergyNetwork, x: Tensor, phases: Phases, *, weights: bool = True) -> None:
    """Write EP's estimates into ``.grad`` of the biases and of float weight matrices, so that any
    torch optimizer can step them (the float-baseline path). Tiles' estimates are not formed."""
    digital = [l for l, m in enumerate(network.weights) if weights and isinstance(m, DigitalMatrix)]
    gw, gb = ep_gradients(network, x, phases, layers=digital)
    for p, g in zip(network.biases, gb):
        p.grad = g.to(p.dtype)
    for l in digital:
        m = network.weights[l]
        m.weight.grad = gw[l].to(m.weight.dtype)
