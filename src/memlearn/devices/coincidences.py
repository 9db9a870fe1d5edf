"""Coincidences: per-sample row and column pulse trains, packed, as the devices of a crossbar see them.

In a stochastic-pulse update (Gokmen & Vlasov, Front. Neurosci. 2016) the periphery drives every
input line and every error line with a bit stream; a device receives one pulse per slot in which
both of its lines fire. Packed (slot ``t`` = bit ``t`` of one word per line), a device's count is
``popcount(word_x & word_d)``. The compiled write forms those counts and applies them in one pass
(:func:`memlearn.devices._write_kernel.coincidence_template`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Coincidences(NamedTuple):
    """Packed per-sample pulse trains of one update (NumPy arrays; sample ``b`` is one write).

    ``wx[b, ii]`` is the word of input line ``ax[b, ii]`` (``ii < kx[b]``, index order; only lines
    that fire), ``wd``/``ad``/``kd`` the same for the error lines; ``sign_x``/``sign_d`` (batch,
    lines) int8 the pulse polarity of every line (the error's carries the descent sign), so weight
    ``(j, i)`` of a (out, in) layer is pulsed ``popcount(wx & wd) sign_x[b, i] sign_d[b, j]``
    times. ``events``: the nonzero weight counts the trains make, summed over samples."""

    wx: np.ndarray
    ax: np.ndarray
    kx: np.ndarray
    wd: np.ndarray
    ad: np.ndarray
    kd: np.ndarray
    sign_x: np.ndarray
    sign_d: np.ndarray
    n_in: int
    events: int
