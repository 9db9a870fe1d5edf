"""NumPy views of a device state's flat tensors, kept per state for the compiled writes (a layer
update would otherwise convert ~10 tensors per call)."""

from __future__ import annotations

import weakref

import numpy as np

from memlearn.devices.state import DeviceState

_NO_FAULTS = np.zeros(0, np.int8)
"""The kernels' empty fault map (no faults modelled)."""

_VIEWS: dict[tuple, tuple] = {}
"""Views per (state, parameter names, faults), keyed by ``id``; an entry is used only while its
weak reference still names the same state object."""


def state_views(state: DeviceState, names: tuple[str, ...], faults: bool) -> tuple:
    """``(cols, g_min, g_max, fault, endurance)`` as the kernels take them (``cols``: the parameters
    ``names`` of a declared map). Views share memory, so in-place changes of the tensors (wear
    marks faults) are seen; a state whose tensors are not contiguous (a reshape would copy) is
    converted afresh every time."""
    key = (id(state), names, faults)
    entry = _VIEWS.get(key)
    if entry is not None and entry[0]() is state:
        return entry[1]
    params = state.params
    views = (tuple(params[name].reshape(-1).numpy() for name in names),
             params["g_min"].reshape(-1).numpy(), params["g_max"].reshape(-1).numpy(),
             state.fault.reshape(-1).numpy() if faults else _NO_FAULTS,
             state.endurance.reshape(-1).numpy())
    if all(t.is_contiguous() for t in (*params.values(), state.fault, state.endurance)):
        if len(_VIEWS) > 256:  # states replaced many times (moves, copies): forget the old ones
            _VIEWS.clear()
        _VIEWS[key] = (weakref.ref(state), views)
    return views
