"""Compiled preparation of one update's pulse trains (the optional fast path of
:func:`memlearn.periphery.line_trains.line_trains`).

At batch 10 the torch definition (``line_trains._preparation``) is about fifteen small tensor
ops per layer (maxima, stream lengths, management scales, firing levels, signs, slot counts), each
costing more in dispatch than in arithmetic. This loop does them in one pass, in float32 and in
the torch ops' order (``1 / (dw_min L) * lr`` is how torch evaluates ``lr / tensor``; ties round
to even), so the levels, signs and lengths are bit for bit those of the torch path. The uniforms are still drawn by torch afterwards, from the slot counts it returns.
"""

from __future__ import annotations

import numpy as np

from memlearn._numba import njit


@njit
def _row_max(a, b):
    m = np.float32(0)
    for i in range(a.shape[1]):
        v = abs(a[b, i])
        if v > m:
            m = v
    return m


@njit
def _levels(a, b, scale, out):
    """Firing levels ``round(clamp(|a| scale, 0, 1) 2^15) - 1`` of row ``b``; returns how many are >= 0."""
    drawn = 0
    for i in range(a.shape[1]):
        p = abs(a[b, i]) * scale
        p = min(max(p, np.float32(0)), np.float32(1)) * np.float32(32768)
        lv = np.int16(np.rint(p) - np.float32(1))
        out[b, i] = lv
        drawn += lv >= 0
    return drawn


@njit
def prepare_trains(x, d, consts, bl, update_management, bl_management):
    """Levels, signs, lengths and slot counts of :class:`~memlearn.periphery.line_trains.LineTrains`.

    ``x``, ``d`` float32; ``consts`` float32 ``lr, dw_min, lr / dw_min, 1e-30``. Returns
    ``(level_x, level_d, sign_x, sign_d, lengths, slots_x, slots_d, finite)``; ``finite`` is False
    when an input is NaN or infinite (the caller then takes the torch path)."""
    batch, n_in = x.shape
    n_out = d.shape[1]
    lr, dw_min, ratio_lr, tiny = consts[0], consts[1], consts[2], consts[3]
    one = np.float32(1)
    level_x = np.empty((batch, n_in), np.int16)
    level_d = np.empty((batch, n_out), np.int16)
    sign_x = np.empty((batch, n_in), np.int8)
    sign_d = np.empty((batch, n_out), np.int8)
    lengths = np.empty(batch, np.int64)
    slots_x = 0
    slots_d = 0
    finite = True
    for b in range(batch):
        for i in range(n_in):
            v = x[b, i]
            finite &= np.isfinite(v)
            sign_x[b, i] = np.int8(1) if v > 0 else (np.int8(-1) if v < 0 else np.int8(0))
        for j in range(n_out):
            v = d[b, j]
            finite &= np.isfinite(v)
            sign_d[b, j] = np.int8(-1) if v > 0 else (np.int8(1) if v < 0 else np.int8(0))
        x_max = _row_max(x, b)
        d_max = _row_max(d, b)
        if bl_management:
            length = np.ceil((x_max * d_max) * ratio_lr)
            length = min(max(length, one), np.float32(bl))
            lengths[b] = np.int64(length)
        else:
            lengths[b] = bl
        c = np.sqrt(one / (dw_min * np.float32(lengths[b])) * lr)
        c_x = c_d = c
        if update_management:
            r = np.sqrt(max(d_max, tiny) / max(x_max, tiny))
            c_x, c_d = c * r, c / r
        slots_x += _levels(x, b, c_x, level_x) * lengths[b]
        slots_d += _levels(d, b, c_d, level_d) * lengths[b]
    return level_x, level_d, sign_x, sign_d, lengths, slots_x, slots_d, finite
