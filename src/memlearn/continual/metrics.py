"""Continual-learning metrics over an accuracy matrix (Lopez-Paz & Ranzato, NeurIPS 2017)."""

from __future__ import annotations

import torch
from torch import Tensor


def _check(r: Tensor) -> Tensor:
    r = torch.as_tensor(r, dtype=torch.float64)
    if r.ndim != 2 or r.shape[0] != r.shape[1] or r.shape[0] < 1:
        raise ValueError(f"accuracy matrix must be square (tasks, tasks), got shape {tuple(r.shape)}")
    return r


def average_accuracy(r: Tensor) -> float:
    """``ACC = (1/T) sum_i R[T-1, i]``: mean accuracy over all tasks after the last one.

    ``r[i, j]`` is the test accuracy on task ``j`` after training on tasks ``0..i``
    (Lopez-Paz & Ranzato, "Gradient Episodic Memory for Continual Learning", NeurIPS 2017, Eq. 2).
    """
    r = _check(r)
    return float(r[-1].mean())


def backward_transfer(r: Tensor) -> float:
    """``BWT = (1/(T-1)) sum_{i<T-1} (R[T-1, i] - R[i, i])`` (Lopez-Paz & Ranzato 2017, Eq. 3).

    Negative values are forgetting; 0 for a single task.
    """
    r = _check(r)
    t = r.shape[0]
    if t < 2:
        return 0.0
    return float((r[-1, :-1] - torch.diagonal(r)[:-1]).mean())


def forward_transfer(r: Tensor, baseline: Tensor) -> float:
    """``FWT = (1/(T-1)) sum_{i>=1} (R[i-1, i] - b_i)`` (Lopez-Paz & Ranzato 2017, Eq. 4).

    ``baseline[i]`` is the accuracy on task ``i`` of the model at its initialisation.
    """
    r = _check(r)
    b = torch.as_tensor(baseline, dtype=torch.float64)
    if b.shape != (r.shape[0],):
        raise ValueError(f"baseline must have shape ({r.shape[0]},), got {tuple(b.shape)}")
    if r.shape[0] < 2:
        return 0.0
    return float((torch.diagonal(r, offset=1) - b[1:]).mean())


def forgetting(r: Tensor) -> float:
    """Mean drop from each task's best accuracy (once trained) to its final one, over tasks ``0..T-2``
    (Chaudhry et al., "Riemannian Walk for Incremental Learning", ECCV 2018, Eq. 2); >= 0."""
    r = _check(r)
    t = r.shape[0]
    if t < 2:
        return 0.0
    seen = torch.tril(torch.ones(t - 1, t - 1, dtype=torch.bool))  # rows l >= j: task j already trained
    best = r[:-1, :-1].masked_fill(~seen, float("-inf")).max(dim=0).values
    return float((best - r[-1, :-1]).mean())
