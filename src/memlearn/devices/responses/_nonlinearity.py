"""NeuroSim's nonlinearity label <-> normalised parameter A of the exponential LTP/LTD curve.

NeuroSim (Chen, Peng & Yu, IEEE TCAD 2018; MLP+NeuroSim V3.0 manual, Section 9) describes a
device's weight-update curve by ``G(P) = B (1 - exp(-P/A)) + G_min`` over ``N`` pulses and labels
its curvature with a "nonlinearity" NL in [0.01, 9], converted to ``a = A / N`` by a tabulated
function (``getParamA`` in ``formula.cpp``; normalised table in ``documents/Nonlinearity-NormA``).
The table follows a closed form, derived here and checked against the published entries to 1e-6
(tests/devices/test_nonlinearity.py): on the normalised curve ``y(x) = (1 - e^{-x/a}) / (1 - e^{-1/a})``,
``x = P/N``, the largest vertical distance from the straight line ``y = x`` is

    D(a) = (1 - e^{-x*/a}) / (1 - e^{-1/a}) - x*,   x* = -a ln(a (1 - e^{-1/a})),

and the label is ``NL = D(a) / (0.07 sqrt(2))`` (the perpendicular distance to the diagonal in
units of 0.07). ``D`` falls monotonically from 1 (a -> 0) to 0 (a -> inf), so ``a(NL)`` is
found by interpolating a dense monotone table in ``log a``; the sign of NL is the sign of A
(negative labels bend the curve the other way).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

NL_SCALE = 0.07 * math.sqrt(2.0)
"""``NL = D(a) / NL_SCALE``; D is the maximum vertical deviation of the normalised curve."""
NL_MIN = 1e-3
"""Smallest |NL| modelled; below it the curve deviates from a line by < 1e-4 of the range."""
NL_MAX = 9.0
"""Largest |NL| of NeuroSim's table."""


def max_deviation(a: np.ndarray | float) -> np.ndarray:
    """``D(a)``: largest vertical distance of the normalised exponential curve from ``y = x``."""
    a = np.asarray(a, dtype=np.float64)
    e = -np.expm1(-1.0 / a)
    x = -a * np.log(a * e)
    return -np.expm1(-x / a) / e - x


def _table() -> tuple[np.ndarray, np.ndarray]:
    log_a = np.linspace(math.log(0.02), math.log(2000.0), 20001)
    nl = max_deviation(np.exp(log_a)) / NL_SCALE
    return nl[::-1].copy(), log_a[::-1].copy()  # increasing NL


_NL, _LOG_A = _table()


def nonlinearity_of(a: float) -> float:
    """NeuroSim's NL label of a normalised A (signed like ``a``)."""
    return math.copysign(float(max_deviation(abs(a))) / NL_SCALE, a)


def normalized_a(nl: float) -> float:
    """``A / N`` for a NeuroSim nonlinearity label ``nl`` (|nl| clipped to [NL_MIN, NL_MAX])."""
    mag = min(max(abs(float(nl)), NL_MIN), NL_MAX)
    return math.copysign(math.exp(float(np.interp(mag, _NL, _LOG_A))), nl if nl != 0 else 1.0)


def normalized_a_tensor(nl: Tensor) -> Tensor:
    """Vectorised :func:`normalized_a` (per-device labels), on ``nl``'s device and dtype."""
    grid_nl = torch.as_tensor(_NL, device=nl.device, dtype=torch.float64)
    grid_la = torch.as_tensor(_LOG_A, device=nl.device, dtype=torch.float64)
    mag = nl.abs().to(torch.float64).clamp(NL_MIN, NL_MAX)
    hi = torch.searchsorted(grid_nl, mag).clamp(1, grid_nl.numel() - 1)
    lo = hi - 1
    w = (mag - grid_nl[lo]) / (grid_nl[hi] - grid_nl[lo])
    log_a = grid_la[lo] + w * (grid_la[hi] - grid_la[lo])
    sign = torch.where(nl < 0, -1.0, 1.0).to(torch.float64)
    return (sign * log_a.exp()).to(nl.dtype)
