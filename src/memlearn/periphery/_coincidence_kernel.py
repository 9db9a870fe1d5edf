"""Compiled coincidence counting of stochastic bit streams (the optional fast path of
:func:`memlearn.periphery.pulse_coding.stochastic_events`).

Each sample's streams are packed into one 64-bit word per input and per error line (bit ``t`` =
slot ``t``), so a coincidence count is ``popcount(word_x & word_d)``; only lines that carry a pulse
are visited. The uniforms, firing levels and signs come from torch, so the events are exactly
those of the torch path (``coincidence_events`` on the same streams), in the same order.
"""

from __future__ import annotations

import numpy as np

from memlearn._numba import njit
from memlearn.devices._write_kernel import popcount as _popcount

MAX_LENGTH = 64
"""Longest stream the packed words hold; longer streams take the torch path."""


@njit
def _pack(pool, level, lengths):
    """Signed words of every sample's streams: ``words[b, k]`` of line ``active[b, k]`` (index
    order, ``k < n_active[b]``), bit ``t`` set when the slot's uniform is ``<= level[b, i]``.
    ``pool`` holds the uniforms of the lines with ``level >= 0``, sample by sample, slot-major
    (slot ``t < lengths[b]``, then line), as ``line_trains.LineTrains`` holds them."""
    batch, n = level.shape
    words = np.empty((batch, n), np.uint64)
    active = np.empty((batch, n), np.int64)
    n_active = np.zeros(batch, np.int64)
    base = 0
    for b in range(batch):
        drawn = 0
        for i in range(n):
            drawn += level[b, i] >= 0
        k = 0
        rank = 0
        for i in range(n):
            lv = level[b, i]
            if lv < 0:
                continue
            w = np.uint64(0)
            for t in range(lengths[b]):
                if pool[base + t * drawn + rank] <= lv:
                    w |= np.uint64(1) << np.uint64(t)
            rank += 1
            if w != np.uint64(0):
                words[b, k] = w
                active[b, k] = i
                k += 1
        n_active[b] = k
        base += drawn * lengths[b]
    return words, active, n_active


@njit
def _per_sample(wx, ax, kx, wd, ad, kd, sign_x, sign_d, n_in):
    batch = wx.shape[0]
    capacity = 0
    for b in range(batch):
        capacity += kx[b] * kd[b]
    w_index = np.empty(capacity, np.int64)
    counts = np.empty(capacity, np.int32)
    write_lengths = np.zeros(batch, np.int64)
    e = 0
    for b in range(batch):
        start = e
        for ii in range(kx[b]):
            i = ax[b, ii]
            word = wx[b, ii]
            s = np.int32(sign_x[b, i])
            for jj in range(kd[b]):
                # Branch-free: always write, keep only nonzero counts (a coincidence is a coin flip
                # for the branch predictor).
                c = _popcount(word & wd[b, jj])
                j = ad[b, jj]
                w_index[e] = j * n_in + i
                counts[e] = np.int32(c) * s * np.int32(sign_d[b, j])
                e += c != 0
        write_lengths[b] = e - start
    return w_index[:e], counts[:e], write_lengths


@njit
def _summed(w_index, counts, n_in, n_out):
    """The per-sample events summed into one write: nonzero totals, input-major (as the torch
    path orders them)."""
    acc = np.zeros(n_in * n_out, np.int32)  # indexed by weight, (out, in)
    for e in range(w_index.size):
        acc[w_index[e]] += counts[e]
    total_index = np.empty(n_in * n_out, np.int64)
    total = np.empty(n_in * n_out, np.int32)
    e = 0
    for i in range(n_in):
        for j in range(n_out):
            w = j * n_in + i
            total_index[e] = w
            total[e] = acc[w]
            e += acc[w] != 0
    return total_index[:e], total[:e], np.full(1, e, np.int64)


@njit
def _count_events(wx, kx, wd, kd):
    """Nonzero coincidences of packed per-sample trains (the events they make, per sample)."""
    total = 0
    for b in range(kx.size):
        for ii in range(kx[b]):
            word = wx[b, ii]
            for jj in range(kd[b]):
                total += _popcount(word & wd[b, jj]) != 0
    return total


@njit
def _pack_both(pool_x, pool_d, level_x, level_d, lengths):
    wx, ax, kx = _pack(pool_x, level_x, lengths)
    wd, ad, kd = _pack(pool_d, level_d, lengths)
    return wx, ax, kx, wd, ad, kd, _count_events(wx, kx, wd, kd)


def pack_trains(pool_x, pool_d, level_x, level_d, lengths):
    """Both sides' packed words (see :func:`_pack`) and the number of nonzero per-sample
    coincidences: ``(wx, ax, kx, wd, ad, kd, events)``, one compiled call."""
    return _pack_both(pool_x, pool_d, level_x, level_d, lengths)


def coincidence_kernel(pool_x, pool_d, level_x, level_d, sign_x, sign_d, lengths, per_sample):
    """Signed coincidence counts as weight events (see ``pulse_coding.coincidence_events``).

    Args (NumPy arrays): ``pool_*`` the drawn 15-bit uniforms (see :func:`_pack`); ``level_*`` (batch, lines)
    firing levels (-1: never fires); ``sign_*`` (batch, lines) +-1 int8 (the error's carries the
    descent sign); ``lengths`` (batch,) slots per sample; ``per_sample``: one write per sample,
    else one write of the batch sums.

    Returns ``(w_index, n, write_lengths)``: flat (out, in) weight indices (int64), int32 counts,
    events per write; within a write input-major, in index order.
    """
    wx, ax, kx = _pack(pool_x, level_x, lengths)
    wd, ad, kd = _pack(pool_d, level_d, lengths)
    events = _per_sample(wx, ax, kx, wd, ad, kd, sign_x, sign_d, level_x.shape[1])
    return events if per_sample else _summed(events[0], events[1], level_x.shape[1], level_d.shape[1])
