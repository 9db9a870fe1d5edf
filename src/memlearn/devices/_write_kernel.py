"""The compiled write: every event's n-pulse map, bounds, faults, endurance and counters in one pass.

:func:`write_template` is compiled once per declared map (``MAP`` is rebound to that map's
compiled scalar version, :func:`memlearn.devices.pulse_map.compiled_write`); the physics comes
only from the map, so this file knows none. The torch path (``Device.write``) is the definition:
the same float64 evaluation of the same map, the same normal draws (one per event, drawn in bulk
by torch), the same order of writes.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

MAP: Callable[[float, float, np.ndarray], tuple[float, float]]
"""The declared n-pulse map ``(a, b) = MAP(n, xi, p)`` the template calls. Declared, not defined:
:func:`memlearn.devices.pulse_map.compiled_write` supplies it (``_numba.rebind``) for each map."""


def write_template(g, index, counts, write_lengths, noise, cols, g_min, g_max, fault, endurance, n_writes,
                   dense, wear):
    """Apply consecutive writes in order: event ``e`` pulses device ``k = index[e]`` (``k = e`` when
    ``dense``) by the signed count ``counts[e]``: ``g[k] <- clip(g + a g + b, g_min, g_max)`` with
    ``(a, b) = MAP(n, xi_e, p_k)`` in float64 (``xi_e = noise[e]``, 0 when ``noise`` is empty;
    ``p_k`` the device's parameters ``cols[q][k]``). Zero counts leave the device alone; stuck or
    worn-out devices (``fault[k] != 0``; empty ``fault`` = no faults) keep their conductance but
    count their pulses. ``n_writes`` (empty: not tracked) accumulates pulses per device; with
    ``wear``, touched devices past their ``endurance`` become worn out (code 3) after the last write.

    Returns ``(pulses, steps, pulse_conductance, worn)``: pulses applied, sum over writes of the
    largest count, sum over pulses of the conductance before its write (S), devices worn out.
    """
    n_params = len(cols)
    row = np.empty(n_params)
    has_faults = fault.size > 0
    noisy = noise.size > 0
    track = n_writes.size > 0
    pulses = 0
    steps = 0
    conductance = 0.0
    e = 0
    for w in range(write_lengths.size):
        largest = 0
        for _ in range(write_lengths[w]):
            c = counts[e]
            if c != 0:
                k = e if dense else index[e]
                g0 = np.float64(g[k])
                m = abs(np.int64(c))
                pulses += m
                conductance += m * g0
                largest = max(largest, m)
                if track:
                    n_writes[k] += m
                if not (has_faults and fault[k] != 0):
                    q = 0
                    for col in cols:
                        row[q] = col[k]
                        q += 1
                    xi = np.float64(noise[e]) if noisy else 0.0
                    a, b = MAP(np.float64(c), xi, row)  # noqa: F821 - MAP is bound by compiled_write
                    v = (g0 + a * g0) + b
                    g[k] = min(max(v, np.float64(g_min[k])), np.float64(g_max[k]))
            e += 1
        steps += largest
    worn = 0
    if wear:
        for e in range(counts.size):
            if counts[e] != 0:
                k = e if dense else index[e]
                if fault[k] == 0 and np.float64(n_writes[k]) > endurance[k]:
                    fault[k] = 3
                    worn += 1
    return pulses, steps, conductance, worn
