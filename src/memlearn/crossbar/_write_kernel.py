"""Compiled in-order sparse writes (the optional fast path of ``Crossbar.apply_pulse_sequence``).

Events must be applied in order because one device may be written by several consecutive writes;
torch would need one gather/map/scatter round per write. The maps themselves (``a``, ``b`` with the
cycle-to-cycle noise already drawn) are computed by the device model in torch, so the kernel knows
no physics: it reads, maps, clips to the device's bounds, writes back and counts.
"""

from __future__ import annotations

import numpy as np

from memlearn._numba import njit


@njit
def affine_sequence(g, index, a, b, g_min, g_max, fault, n_abs, write_lengths, n_writes):
    """Apply ``g[k] <- clip(g[k] + a_e g[k] + b_e, g_min[k], g_max[k])`` for events ``e`` in order.

    Args (NumPy, flat over the array): ``g`` conductances (updated in place); ``index`` (events,)
    device indices, distinct within a write; ``a``, ``b`` (events,) each event's map; ``g_min``,
    ``g_max`` the devices' bounds; ``fault`` int8 codes (non-zero devices keep their conductance;
    empty = no faults); ``n_abs`` (events,) pulses per event; ``write_lengths`` events per write;
    ``n_writes`` (per device, updated in place) cumulative pulses.

    Returns ``(pulses, steps, pulse_conductance)``: pulses applied, sum over writes of the largest
    count (parallel write rounds), and sum over pulses of the conductance before its write (S).
    """
    has_faults = fault.size > 0
    pulses = 0
    steps = 0
    conductance = 0.0
    e = 0
    for w in range(write_lengths.size):
        largest = 0
        for _ in range(write_lengths[w]):
            k = index[e]
            g0 = g[k]
            count = n_abs[e]
            pulses += count
            conductance += count * np.float64(g0)
            largest = max(largest, count)
            v = g0 if has_faults and fault[k] != 0 else (b[e] + a[e] * g0) + g0
            g[k] = min(max(v, g_min[k]), g_max[k])
            n_writes[k] += count
            e += 1
        steps += largest
    return pulses, steps, conductance
