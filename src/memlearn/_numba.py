"""Compiled loops (numba) for the sequential and per-event parts of a pulse update:
forming the coincidence events of bit streams, applying each write's device physics in order,
and drawing the batched mode's counts.

The torch code is the definition and the fallback (CUDA tensors, or ``MEMLEARN_NUMBA=0``). Device physics reaches compiled code only through a response's declared
n-pulse map (:mod:`memlearn.devices.pulse_map`): one source that torch evaluates vectorised and
numba compiles into the write kernel, so a new device model needs no hand-written kernel. Every
kernel is cached on disk (``cache=True``): compiled once per machine, not per process.
"""

from __future__ import annotations

import os
import types

import numba
import torch

ENABLED = os.environ.get("MEMLEARN_NUMBA", "1") != "0"
"""Whether CPU tensors use the compiled loops (set ``MEMLEARN_NUMBA=0`` to force the torch path)."""


def usable(*tensors: torch.Tensor) -> bool:
    """True when the compiled loops apply: enabled, and every tensor on the CPU."""
    return ENABLED and all(t.device.type == "cpu" for t in tensors)


def njit(fn):
    """``numba.njit`` with an on-disk cache (compiled once per machine, on first call)."""
    return numba.njit(cache=True, nogil=True)(fn)


def njit_inline(fn):
    """A small helper compiled into its callers (inlined)."""
    return numba.njit(inline="always")(fn)


def rebind(fn, name: str, replacements: dict, inline: bool = False):
    """``fn``'s code with some of its globals replaced, compiled under the qualified name ``name``.

    This is how one Python source serves torch and numba: a declared map is rebound with ``ops``
    -> the scalar twin, a kernel template with ``MAP`` -> that compiled map. The on-disk cache is
    keyed by ``name``, so callers put a hash of everything that was swapped in into it."""
    glb = dict(fn.__globals__)
    glb.update(replacements)
    out = types.FunctionType(fn.__code__, glb, fn.__name__, fn.__defaults__, fn.__closure__)
    out.__qualname__ = name
    out.__module__ = fn.__module__
    return numba.njit(inline="always")(out) if inline else numba.njit(cache=True, nogil=True)(out)
