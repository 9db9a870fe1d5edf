"""Closed-form n-pulse composition shared by linear, soft-bounds and exponential LTP/LTD responses."""

from __future__ import annotations

import torch
from torch import Tensor


def saturating_moments(g: Tensor, n_abs: Tensor, target: Tensor, log_keep: Tensor, sigma: Tensor,
                       linear_step: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Mean and variance after ``n_abs`` pulses of the recursion
    ``g_{k+1} = target - (target - g_k) * q + s * xi_k`` with ``q = exp(log_keep)`` and
    ``xi_k ~ N(0, 1)`` i.i.d. (additive cycle-to-cycle noise of std ``s = sigma``).

    Closed form: ``E[g_n] = target - (target - g_0) q^n`` and
    ``Var[g_n] = s^2 (1 - q^{2n}) / (1 - q^2)``. When ``linear_step`` is given (q = 1), the mean is
    ``g_0 + n * step`` and the variance ``n s^2``.
    """
    n = n_abs.to(g.dtype)
    if linear_step is not None:
        return g + n * linear_step, n * sigma * sigma
    q_n = torch.exp(n * log_keep)
    mean = target - (target - g) * q_n
    q2 = torch.exp(2.0 * log_keep)
    # (1 - q^{2n}) / (1 - q^2) -> n as q -> 1; guard the 0/0.
    denom = 1.0 - q2
    ratio = torch.where(denom.abs() > 1e-12, (1.0 - q_n * q_n) / denom.clamp_min(1e-12), n)
    return mean, sigma * sigma * ratio
