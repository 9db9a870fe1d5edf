"""Compiled ADC of a tiled read (the optional fast path of ``ADC.convert_codes_sum_``): every
array's partial outputs saturated, rounded to codes and summed digitally in one pass over them.

The torch path (clamp, round, sum over arrays: three passes over the largest tensor of a read)
stays the definition. The result is bit for bit the same: clamping and rounding half to even are
exact elementwise, and the summed codes are whole numbers below 2**24 (float32) or 2**53
(float64), so every order of summation gives the same float (checked before use).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from memlearn import _numba
from memlearn._numba import njit


@njit
def _codes_sum(p, top, out):
    """``out[b, j] = sum_a rint(clip(p[a, b, j], -top, top))`` (NaN stays NaN, as torch's clamp).
    Branch-free min/max so the inner loop vectorises."""
    n_arrays, batch, n = p.shape
    for b in range(batch):
        for j in range(n):
            out[b, j] = np.rint(min(max(p[0, b, j], -top), top))
        for a in range(1, n_arrays):
            for j in range(n):
                out[b, j] += np.rint(min(max(p[a, b, j], -top), top))


_EXACT = {torch.float32: 2.0 ** 24, torch.float64: 2.0 ** 53}


def codes_sum(p: Tensor, top: float) -> Tensor | None:
    """The summed integer codes (batch, n) of partial outputs ``p`` (n_arrays, batch, n) in ADC
    steps, saturated at ``top`` codes; None where the compiled pass does not apply (torch path):
    numba off or a CUDA tensor, autograd, another dtype, or sums that could round."""
    limit = _EXACT.get(p.dtype)
    if (limit is None or p.dim() != 3 or not _numba.usable(p) or p.requires_grad or not p.is_contiguous()
            or p.shape[0] * (top + 1.0) >= limit):
        return None
    out = torch.empty(p.shape[1:], dtype=p.dtype)
    a = p.numpy()
    _codes_sum(a, a.dtype.type(top), out.numpy())  # the bound in the outputs' dtype, as torch's clamp casts it
    return out
