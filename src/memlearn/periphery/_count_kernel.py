"""Compiled draw of the batched mode's counts (the CPU path of
:func:`memlearn.periphery.drawn_counts.drawn_events`; its torch twin is ``_draw_torch`` there).

One pass over the weights: where the activity ``A`` is nonzero, one 64-bit word from torch gives
two 31-bit uniforms (torch's int64 words are non-negative: 63 random bits), and each sign's count is the inverse CDF of its moment-matched binomial.
"""

from __future__ import annotations

import math

import numpy as np

from memlearn._numba import njit, njit_inline

NORMAL_ABOVE = 60.0
"""Above this mean a sign's count is drawn from the normal approximation (the binomial's
probabilities underflow far above it; at it the normal's error is a fraction of a pulse)."""
_U31 = 2.0 ** -31


@njit_inline
def _normal_quantile(u):
    """Abramowitz & Stegun 26.2.23 (|error| < 4.5e-4)."""
    t_u = max(u if u < 0.5 else 1.0 - u, 1e-300)
    t = math.sqrt(-2.0 * math.log(t_u))
    z = t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1.0 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t)
    return -z if u < 0.5 else z


@njit_inline
def _binomial(mu, pi, u):
    """``Bin(m, mu / m)`` at uniform ``u``, ``m = max(1, round(mu / pi))``. ``u <= 1 - mu`` is 0 at
    once, exactly (``P(0) = (1 - q)^m >= 1 - m q``): most weights, at no transcendental's cost."""
    if u <= 1.0 - mu:
        return 0.0
    m = max(np.round(mu / pi), 1.0)
    q = min(mu / m, 1.0)
    if q >= 1.0:
        return m
    if mu > NORMAL_ABOVE:
        return min(max(np.round(mu + math.sqrt(m * q * (1.0 - q)) * _normal_quantile(u)), 0.0), m)
    pk = math.exp(m * math.log1p(-q))
    cdf = pk
    ratio = q / (1.0 - q)
    k = 0.0
    while u > cdf and k < m:
        pk = pk * ((m - k) / (k + 1.0)) * ratio
        k += 1.0
        cdf += pk
    return k


@njit
def draw_counts(a, m, w, words):
    """Signed counts ``N+ - N-`` of every weight with ``a > 0`` (``a``, ``m``, ``w`` flat float32;
    ``words`` one int64 per such weight, in order). Returns the nonzero ones: (index int64, count int32)."""
    index = np.empty(words.size, np.int64)
    counts = np.empty(words.size, np.int32)
    rank = 0
    e = 0
    for k in range(a.size):
        a64 = np.float64(a[k])
        if a64 > 0.0:
            m64 = np.float64(m[k])
            word = words[rank]
            rank += 1
            low = (np.float64(word & 0x7FFFFFFF) + 0.5) * _U31
            high = (np.float64((word >> 31) & 0x7FFFFFFF) + 0.5) * _U31
            mu_up = max((a64 + m64) * 0.5, 0.0)
            mu_down = max((a64 - m64) * 0.5, 0.0)
            c = 0.0
            if low > 1.0 - mu_up or high > 1.0 - mu_down:
                pi = min(max(np.float64(w[k]) / a64, 1e-300), 1.0)
                c = _binomial(mu_up, pi, low) - _binomial(mu_down, pi, high)
            if c != 0.0:
                index[e] = k
                counts[e] = np.int32(c)
                e += 1
    return index[:e], counts[:e]
