"""The layered Hopfield energy of Scellier & Bengio (2017) with hard-sigmoid units, as pure functions."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor


def hard_sigmoid(u: Tensor) -> Tensor:
    """``rho(u) = clip(u, 0, 1)``, the unit nonlinearity of Scellier & Bengio, Front. Comput.
    Neurosci. 2017 (Sec. 5)."""
    return u.clamp(0.0, 1.0)


def energy(weights: Sequence[Tensor], biases: Sequence[Tensor], x: Tensor, state: Sequence[Tensor]) -> Tensor:
    """Hopfield energy of a layered network, one value per sample.

    Args:
        weights: ``W_l`` of shape (n_{l+1}, n_l) for l = 0..L-1 (layer 0 is the clamped input).
        biases: ``b_l`` of shape (n_{l+1},) for the free layers 1..L.
        x: clamped input, (batch, n_0), values in [0, 1].
        state: free layers ``s_1..s_L``, each (batch, n_l).

    Returns:
        (batch,) energies
        ``E = 1/2 sum_l |rho(s_l)|^2 - sum_l rho(s_{l+1})^T W_l rho(s_l) - sum_l b_l^T rho(s_l)``
        (Scellier & Bengio 2017, Eq. 1, restricted to layered connectivity; with states kept in
        [0, 1] rho is the identity on them and the energy is quadratic in each layer).
    """
    if len(weights) != len(state) or len(biases) != len(state):
        raise ValueError(f"need one weight and one bias per free layer, got {len(weights)}, {len(biases)}, {len(state)}")
    layers = [hard_sigmoid(x)] + [hard_sigmoid(s) for s in state]
    e = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    for w, b, pre, post in zip(weights, biases, layers[:-1], layers[1:]):
        e = e + 0.5 * (post * post).sum(1) - ((pre @ w.T) * post).sum(1) - post @ b
    return e


def cost(output: Tensor, target: Tensor) -> Tensor:
    """Squared-error cost ``C = 1/2 |rho(s_L) - y|^2`` per sample, (batch,) (Scellier & Bengio 2017, Eq. 4)."""
    diff = hard_sigmoid(output) - target
    return 0.5 * (diff * diff).sum(1)


def total_energy(weights: Sequence[Tensor], biases: Sequence[Tensor], x: Tensor, state: Sequence[Tensor],
                 target: Tensor | None = None, beta: float = 0.0) -> Tensor:
    """``F = E + beta C``, per sample (Scellier & Bengio 2017, Eq. 5)."""
    e = energy(weights, biases, x, state)
    if target is None or beta == 0.0:
        return e
    return e + beta * cost(state[-1], target)
