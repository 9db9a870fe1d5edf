"""The functions a declared n-pulse map may call (``ops.<name>``), in two versions of one meaning.

A map (:mod:`memlearn.devices.pulse_map`) is written once against ``ops``: evaluated by torch it
gets the tensor functions below; compiled by numba it gets :data:`SCALAR` (the same names on
float64 scalars), swapped in for ``ops``. Arithmetic operators need no entry: they mean the same
on tensors and scalars. Both versions work in float64 (the kernel and the torch path convert
every input), so the two differ only where torch's vectorised ``expm1``/``sqrt`` and libm's
differ, by at most an ulp of float64 (far below the float32 conductances' resolution).
"""

from __future__ import annotations

import math
import types

import torch

from memlearn._numba import njit_inline


def expm1(x):
    """``exp(x) - 1`` (full precision near 0)."""
    return torch.expm1(x)


def sqrt(x):
    """Square root."""
    return torch.sqrt(x)


def positive(x):
    """``max(x, 0)``."""
    return torch.clamp_min(x, 0.0)


def sign(x):
    """-1, 0 or 1."""
    return torch.sign(x)


def absolute(x):
    """``|x|``."""
    return torch.abs(x)


def select(condition, x, y):
    """``x`` where ``condition`` holds, else ``y``."""
    return torch.where(condition, x, y)


def _scalar_module() -> types.ModuleType:
    """The numba twin of this module: every function on float64 scalars."""

    def s_expm1(x):
        return math.expm1(x)

    def s_sqrt(x):
        return math.sqrt(x)

    def s_positive(x):
        return x if x > 0.0 else 0.0

    def s_sign(x):
        return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0)

    def s_absolute(x):
        return abs(x)

    def s_select(condition, x, y):
        return x if condition else y

    module = types.ModuleType("memlearn.devices.map_ops_scalar")
    for fn in (s_expm1, s_sqrt, s_positive, s_sign, s_absolute, s_select):
        setattr(module, fn.__name__[2:], njit_inline(fn))
    return module


SCALAR = _scalar_module()
"""``ops`` as compiled maps see it (numba scalar functions of the same names)."""
