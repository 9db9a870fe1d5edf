"""Batched stochastic pulse counts drawn from their distribution: the cost does not grow with
batch size x stream length.

Per-sample semantics (Gokmen & Vlasov, Front. Neurosci. 2016, Eq. 5-6; ``pulse_coding``): in
sample ``b`` input line ``i`` fires in each of its ``L_b`` slots with probability ``p_bi``, error
line ``j`` with ``r_bj``, independently, so device ``(j, i)`` gets ``C_bij ~ Bin(L_b, q_bij)``
coincidences, ``q = p r``, each a pulse of sign ``s_bij = sign(x_bi) sign(-d_bj)``. The batch sum
``n_ij = sum_b s_bij C_bij = N+ - N-`` has

    mu(+-) = sum_{b: s = +-1} L_b q_b,        Var N(+-) = sum_{b: s = +-1} L_b q_b (1 - q_b).

Three products of the line probabilities over the batch give what the draw needs (weights
(out, in); ``P = L p``, ``R = r``, signs folded in):

    A = sum_b L q      = R^T P              (= mu+ + mu-)
    M = sum_b s L q    = (s_d R)^T (s_x P)  (= mu+ - mu-)
    W = sum_b L q^2    = (R^2)^T (P p)

and each sign's count is drawn from the binomial with its exact mean and the activity-weighted
coincidence probability ``pi = W / A``: ``N(+-) ~ Bin(m, mu(+-) / m)`` with ``m = round(mu(+-) / pi)``
(at least 1). So ``E[n] = M`` exactly and ``Var[n] = A - W`` (the exact variance of the batch sum)
up to the rounding of ``m`` and to the split of ``W`` between the signs, which is exact when a
weight's contributions share one sign or one coincidence probability.

How it differs from per-sample semantics (``StochasticPulse(per_sample=True)``): one write of
the batch's net counts (a device pulsed up by one sample and down by another gets only the net
pulses: less energy and wear, and no path dependence of a nonlinear device), and counts of
weights that share a line are drawn independently (per sample they are correlated through the
shared stream); higher moments are the binomial's. The summed mode (``batched="summed"``) keeps
the exact joint distribution at the cost of forming every sample's coincidences.

The draw is one inverse-CDF pass with one 64-bit random word per weight of nonzero activity
(two 31-bit uniforms (torch's int64 words are non-negative: 63 random bits): one per sign), drawn in bulk by torch; compiled on the CPU
(:mod:`memlearn.periphery._count_kernel`), vectorised torch otherwise, with the same words.
"""

from __future__ import annotations

import torch
from torch import Tensor

from memlearn import _numba
from memlearn.periphery._count_kernel import NORMAL_ABOVE, draw_counts

_U31 = 2.0 ** -31


def line_probabilities(x: Tensor, d: Tensor, lr: float, dw_min: float, bl: int, update_management: bool,
                       bl_management: bool) -> tuple[Tensor, Tensor, Tensor]:
    """``(p, r, L)``: the signed firing probabilities ``sign(x) p`` (batch, in) and ``-sign(d) r``
    (batch, out) of the streams ``pulse_coding`` would draw (same scales, lengths and 15-bit
    quantisation), and each sample's length ``L`` (batch, 1), float."""
    from memlearn.periphery.line_trains import P_ONE, firing_levels, lengths_from_max, scales_from_max

    batch = x.shape[0]
    x_abs, d_abs = x.abs(), d.abs()
    x_max = x_abs.amax(dim=1, keepdim=True) if x.shape[1] else x_abs.new_zeros(batch, 1)
    d_max = d_abs.amax(dim=1, keepdim=True) if d.shape[1] else d_abs.new_zeros(batch, 1)
    if bl_management:
        lengths = lengths_from_max(x_max, d_max, lr, dw_min, bl).to(x.dtype)
    else:
        lengths = torch.full((batch, 1), float(bl), dtype=x.dtype, device=x.device)
    c_x, c_d = scales_from_max(x_max, d_max, lr, dw_min, lengths, update_management)
    # the comparator's probabilities: a uniform of 15 bits fires at or below its level
    p = (firing_levels(x_abs.mul_(c_x)).to(x.dtype) + 1.0).div_(P_ONE).mul_(x.sign())
    r = (firing_levels(d_abs.mul_(c_d)).to(d.dtype) + 1.0).div_(P_ONE).mul_(d.sign().neg_())
    return p, r, lengths


def count_moments(p: Tensor, r: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(A, M, W)`` (out, in) of the module docstring: three products over the batch."""
    p_abs, r_abs = p.abs(), r.abs()
    lp = p_abs * lengths
    a = r_abs.T @ lp
    m = r.T @ (p * lengths)
    w = r_abs.square().T @ (lp * p_abs)
    return a, m, w


def drawn_events(x: Tensor, d: Tensor, lr: float, dw_min: float, bl: int, generator: torch.Generator, *,
                 update_management: bool = True, bl_management: bool = True) -> tuple[Tensor, Tensor, list[int]]:
    """One write of batch counts drawn from their distribution (module docstring), as events
    ``(w_index, n, lengths)`` like ``pulse_coding.stochastic_events``: flat (out, in) weight
    indices of the nonzero counts (ascending), their int32 counts, ``[events]``."""
    p, r, lengths = line_probabilities(x.detach().to(torch.float32), d.detach().to(torch.float32), lr, dw_min, bl,
                                       update_management, bl_management)
    a, m, w = count_moments(p, r, lengths)
    active = a.view(-1) > 0
    words = torch.empty(int(active.sum()), dtype=torch.int64, device=x.device).random_(generator=generator)
    if _numba.usable(a, words):
        index, n = draw_counts(a.view(-1).numpy(), m.view(-1).numpy(), w.view(-1).numpy(), words.numpy())
        index, n = torch.from_numpy(index), torch.from_numpy(n)
    else:
        index, n = _draw_torch(a.view(-1), m.view(-1), w.view(-1), active, words)
    return index, n, [index.numel()]


def _inverse_binomial(mu: Tensor, pi: Tensor, u: Tensor) -> Tensor:
    """Vectorised twin of ``_count_kernel._binomial`` (float64): ``Bin(m, mu / m)`` at uniform ``u``,
    ``m = max(1, round(mu / pi))``; the normal approximation above ``NORMAL_ABOVE``."""
    m = torch.clamp_min(torch.round(mu / pi), 1.0)
    q = torch.clamp_max(mu / m, 1.0)
    out = torch.zeros_like(mu)
    certain = (q >= 1.0) & (u > 1.0 - mu)
    out = torch.where(certain, m, out)
    large = (~certain) & (mu > NORMAL_ABOVE) & (u > 1.0 - mu)
    if bool(large.any()):
        z = _normal_quantile(u)
        approx = torch.clamp(torch.round(mu + torch.sqrt(m * q * (1.0 - q)) * z), torch.zeros_like(m), m)
        out = torch.where(large, approx, out)
    small = (~certain) & (~large) & (u > 1.0 - mu)  # u <= 1 - mu is 0 exactly (see the kernel)
    idx = small.nonzero().squeeze(1)
    if idx.numel():
        ms, qs, us = m[idx], q[idx], u[idx]
        pk = torch.exp(ms * torch.log1p(-qs))
        cdf = pk.clone()
        ratio = qs / (1.0 - qs)
        k = torch.zeros_like(ms)
        live = (us > cdf) & (k < ms)
        while bool(live.any()):
            pk = torch.where(live, pk * ((ms - k) / (k + 1.0)) * ratio, pk)
            k = torch.where(live, k + 1.0, k)
            cdf = torch.where(live, cdf + pk, cdf)
            live = live & (us > cdf) & (k < ms)
        out[idx] = k
    return out


def _normal_quantile(u: Tensor) -> Tensor:
    """Standard normal quantile, Abramowitz & Stegun 26.2.23 (|error| < 4.5e-4): the twin of
    ``_count_kernel._normal_quantile``."""
    t_u = torch.where(u < 0.5, u, 1.0 - u).clamp_min(1e-300)
    t = torch.sqrt(-2.0 * torch.log(t_u))
    z = t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1.0 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t)
    return torch.where(u < 0.5, -z, z)


def _draw_torch(a: Tensor, m: Tensor, w: Tensor, active: Tensor, words: Tensor) -> tuple[Tensor, Tensor]:
    """The torch path of :func:`memlearn.periphery._count_kernel.draw_counts`."""
    where = active.nonzero().squeeze(1)
    a64, m64, w64 = (t.index_select(0, where).to(torch.float64) for t in (a, m, w))
    pi = torch.clamp(w64 / a64, min=1e-300, max=1.0)
    mu_up = torch.clamp_min((a64 + m64) * 0.5, 0.0)
    mu_down = torch.clamp_min((a64 - m64) * 0.5, 0.0)
    low = (words & 0x7FFFFFFF).to(torch.float64).add_(0.5).mul_(_U31)
    high = ((words >> 31) & 0x7FFFFFFF).to(torch.float64).add_(0.5).mul_(_U31)
    n = (_inverse_binomial(mu_up, pi, low) - _inverse_binomial(mu_down, pi, high)).to(torch.int32)
    hit = n != 0
    return where[hit], n[hit]
