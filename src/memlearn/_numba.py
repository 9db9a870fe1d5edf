"""Optional compiled loops (numba) for the two steps of a sparse pulse update that are sequential
by nature: forming the coincidence events of bit streams, and applying sparse writes in order.

Everything physical stays in PyTorch: the kernels only gather, compare, count and apply the
per-event maps that torch computed, so a new device model needs no kernel. The torch code is the
reference and the fallback (CUDA tensors, numba missing, or ``MEMLEARN_NUMBA=0``); tests check
that both paths give the same events and conductances.
"""

from __future__ import annotations

import os

import torch

try:
    import numba
except ImportError:  # pragma: no cover - numba is a declared dependency; the torch path still works
    numba = None

ENABLED = numba is not None and os.environ.get("MEMLEARN_NUMBA", "1") != "0"
"""Whether CPU tensors use the compiled loops (set ``MEMLEARN_NUMBA=0`` to force the torch path)."""


def usable(*tensors: torch.Tensor) -> bool:
    """True when the compiled loops apply: enabled, and every tensor on the CPU."""
    return ENABLED and all(t.device.type == "cpu" for t in tensors)


def njit(fn):
    """``numba.njit`` with an on-disk cache (compiled once per machine), or ``fn`` without numba."""
    return numba.njit(cache=True, nogil=True)(fn) if numba is not None else fn
