"""EP's local contrastive update, as UpdateRequests (analog tiles) or as ``.grad`` (float baselines).

For a layer ``W_l`` joining layer ``l`` (pre) to ``l+1`` (post), ``dF/dW_l = -rho(s_{l+1}) rho(s_l)^T``,
so with two phases A and B at nudging ``beta_A`` and ``beta_B`` the loss gradient is estimated by
``g_l = -(rho(s^A_{l+1})^T rho(s^A_l) - rho(s^B_{l+1})^T rho(s^B_l)) / ((beta_A - beta_B) batch)``
(Scellier & Bengio 2017, Eq. 10; symmetric form: Laborieux et al. 2021, Eq. 7). Stacking the two
phases along the batch gives one request ``x = [s^A_l; s^B_l]``, ``d = [-s^A_{l+1}; s^B_{l+1}] /
((beta_A - beta_B) batch)`` with ``d^T x = g_l``, which any rule turns into pulses.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def ep_requests(network: EnergyNetwork, x: Tensor, phases: Phases, lr: float) -> list[UpdateRequest]:
    """One :class:`UpdateRequest` per weight matrix (same order as ``network.weights``)."""
    a, b, dbeta = phases.contrast()
    la, lb = _layers(x, a), _layers(x, b)
    scale = 1.0 / (dbeta * x.shape[0])
    return [UpdateRequest(torch.cat([la[l], lb[l]], 0), torch.cat([-la[l + 1], lb[l + 1]], 0) * scale, lr)
            for l in range(network.n_free_layers)]


def ep_gradients(network: EnergyNetwork, x: Tensor, phases: Phases) -> tuple[list[Tensor], list[Tensor]]:
    """EP's estimates of ``dL/dW_l`` (n_{l+1}, n_l) and ``dL/db_l`` (n_{l+1},), L the batch-mean cost."""
    a, b, dbeta = phases.contrast()
    la, lb = _layers(x, a), _layers(x, b)
    scale = 1.0 / (dbeta * x.shape[0])
    gw = [(lb[l + 1].T @ lb[l] - la[l + 1].T @ la[l]) * scale for l in range(network.n_free_layers)]
    gb = [(lb[l + 1] - la[l + 1]).sum(0) * scale for l in range(network.n_free_layers)]
    return gw, gb


def write_ep_gradients(network: EnergyNetwork, x: Tensor, phases: Phases, *, weights: bool = True) -> None:
    """Write EP's estimates into ``.grad`` of the biases and of float weight matrices, so that any
    torch optimizer can step them (the float-baseline path)."""
    gw, gb = ep_gradients(network, x, phases)
    for p, g in zip(network.biases, gb):
        p.grad = g.to(p.dtype)
    if weights:
        for m, g in zip(network.weights, gw):
            if isinstance(m, DigitalMatrix):
                m.weight.grad = g.to(m.weight.dtype)
