"""Declared n-pulse maps: a response's write physics, written once for torch and numba.

A response declares (``PulseResponse.pulse_map``) what ``n`` identical pulses do to a device,
once its cycle-to-cycle noise ``xi ~ N(0, 1)`` is drawn, as an affine map of the starting
conductance::

    a, b = fn(n, xi, p)          g_new = clip(g + a g + b, g_min, g_max)

``n`` is the signed count (float64), ``p[q]`` the device's ``q``-th declared parameter
(``params``, float64). Every built-in response is of this form: a constant step (``a = 0``),
soft bounds / exponential LTP-LTD / PCM SET (``a = q^n - 1``, additive noise in ``b`` or noise
proportional to the step in both), PCM RESET (``a = -1``: the device forgets ``g``).

``fn`` uses arithmetic operators and the functions of :mod:`memlearn.devices.map_ops` (as
``ops.<name>``) only. Torch evaluates it vectorised over events (``p`` a (params, events)
tensor): the definition, and the path for CUDA and ``MEMLEARN_NUMBA=0``. On the CPU it is
compiled into the write kernel (:mod:`memlearn.devices._write_kernel`) with ``ops`` swapped for
its scalar twin, so adding a device model needs no hand-written kernel. A response without a
declaration (``pulse_map`` returns None) is written by its ``pulse_dense`` in torch.
"""

from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass
from typing import Callable

from memlearn import _numba
from memlearn.devices import _write_kernel, map_ops


@dataclass(frozen=True)
class PulseMap:
    """One response's declared n-pulse map (see the module docstring)."""

    fn: Callable
    """``fn(n, xi, p) -> (a, b)``, written against ``memlearn.devices.map_ops as ops``."""
    params: tuple[str, ...]
    """The per-device parameters ``p[0], p[1], ...`` in order (keys of the response's ``sample``)."""
    noisy: bool
    """Whether ``fn`` reads ``xi`` (a normal is then drawn per event; else ``xi = 0``)."""


_KERNELS: dict[tuple[Callable, str], Callable] = {}


def _tag(fn: Callable) -> str:
    """A hash of the map's source and of the ops it may call: the compiled kernel's cache name, so
    that a changed map never loads a stale kernel."""
    text = inspect.getsource(fn) + inspect.getsource(map_ops) + inspect.getsource(_write_kernel)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def compiled_write(pulse_map: PulseMap) -> Callable:
    """The write kernel (:func:`memlearn.devices._write_kernel.write_template`) with this map
    compiled in; built once per map and process, cached on disk across processes."""
    return _compiled(pulse_map, "write_template")


def compiled_coincidences(pulse_map: PulseMap) -> Callable:
    """The coincidence write (:func:`memlearn.devices._write_kernel.coincidence_template`) with
    this map compiled in (built once per map and process, cached on disk)."""
    return _compiled(pulse_map, "coincidence_template")


def _compiled(pulse_map: PulseMap, template: str) -> Callable:
    fn = pulse_map.fn
    kernel = _KERNELS.get((fn, template))
    if kernel is None:
        name = f"{fn.__module__}.{fn.__qualname__}".replace(".", "_")
        scalar = _numba.rebind(fn, f"{name}_scalar", {"ops": map_ops.SCALAR}, inline=True)
        kernel = _KERNELS[(fn, template)] = _numba.rebind(getattr(_write_kernel, template),
                                                          f"{template}_{name}_{_tag(fn)}", {"MAP": scalar})
    return kernel
