"""The compiled write: every event's n-pulse map, bounds, faults, endurance and counters in one pass.

Two templates: :func:`write_template` applies listed events; :func:`coincidence_template` forms
the events itself from packed line pulse trains (the coincidences of row and column trains, as
the devices of a crossbar see them) and applies them in the same pass, so a per-sample stochastic
update is one call per layer instead of a coincidence pass, gathers and a write.

:func:`write_template` is compiled once per declared map (``MAP`` is rebound to that map's
compiled scalar version, :func:`memlearn.devices.pulse_map.compiled_write`); the physics comes
only from the map, so this file knows none. The torch path (``Device.write``) is the definition:
the same float64 evaluation of the same map, the same normal draws (one per event, drawn in bulk
by torch), the same order of writes.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from memlearn._numba import njit

MAP: Callable[[float, float, np.ndarray], tuple[float, float]]
"""The declared n-pulse map ``(a, b) = MAP(n, xi, p)`` the template calls. Declared, not defined:
:func:`memlearn.devices.pulse_map.compiled_write` supplies it (``_numba.rebind``) for each map."""


def write_template(g, index, counts, write_lengths, noise, cols, g_min, g_max, fault, endurance, n_writes,
                   dense, wear):
    """Apply consecutive writes in order: event ``e`` pulses device ``k = index[e]`` (``k = e`` when
    ``dense``) by the signed count ``counts[e]``: ``g[k] <- clip(g + a g + b, g_min, g_max)`` with
    ``(a, b) = MAP(n, xi_e, p_k)`` in float64 (``xi_e = noise[e]``; when ``dense``, ``noise[r]`` for the
    ``r``-th nonzero count, as if the nonzero entries had been listed; 0 when ``noise`` is empty;
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
    r = 0
    for w in range(write_lengths.size):
        largest = 0
        for _ in range(write_lengths[w]):
            c = counts[e]
            if c != 0:
                k = e if dense else index[e]
                at = r if dense else e
                r += 1
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
                    xi = np.float64(noise[at]) if noisy else 0.0
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


@njit
def popcount(v):
    """Set bits of a uint64 (the coincidences of two packed trains ``popcount(wx & wd)``)."""
    v = v - ((v >> np.uint64(1)) & np.uint64(0x5555555555555555))
    v = (v & np.uint64(0x3333333333333333)) + ((v >> np.uint64(2)) & np.uint64(0x3333333333333333))
    v = (v + (v >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((v * np.uint64(0x0101010101010101)) >> np.uint64(56))


def coincidence_template(g, wx, ax, kx, wd, ad, kd, sign_x, sign_d, n_out, table, table_sign, k, n_events, noise, cols,
                         g_min, g_max, fault, endurance, n_writes, wear):
    """Per-sample coincidence writes, formed and applied in one pass (see
    :class:`memlearn.devices.coincidences.Coincidences` for the packed trains).

    Sample ``b`` is one write: for every input line ``i = ax[b, ii]`` (index order) and error line
    ``j = ad[b, jj]`` (index order) the coincidences ``c = popcount(wx[b, ii] & wd[b, jj])`` pulse
    weight ``(j, i)`` by ``c sign_x[b, i] sign_d[b, j]``; its ``k`` devices ``table[w k + q]``,
    ``w = i n_out + j`` (the table is input-major, so the inner loop over ``j`` reads it in order),
    receive that count times ``table_sign[w k + q]`` (all +1 when empty), each
    one device event, in that order, with the map and accounting of :func:`write_template`
    (``xi_e = noise[e]`` for the ``e``-th device event). The events and their order are those of
    ``pulse_coding.coincidence_events`` gathered through the mapping's event table, so the result
    equals the listed-events write bit for bit. ``n_events``: the device events the trains make
    (``k`` times their nonzero coincidences; the length of ``noise`` when noisy).

    Returns ``(pulses, steps, pulse_conductance, worn, events)``.
    """
    n_params = len(cols)
    row = np.empty(n_params)
    has_faults = fault.size > 0
    noisy = noise.size > 0
    track = n_writes.size > 0
    signed = table_sign.size > 0
    touched = np.empty(n_events if wear else 0, np.int64)
    pulses = 0
    steps = 0
    conductance = 0.0
    e = 0
    capacity = 0
    for b in range(kx.size):
        capacity = max(capacity, kx[b] * kd[b])
    pair_w = np.empty(capacity, np.int64)
    pair_c = np.empty(capacity, np.int64)
    for b in range(kx.size):
        # The sample's nonzero coincidences first, branch-free (whether two lines coincide is a
        # coin flip for the branch predictor), then their writes.
        n_pairs = 0
        for ii in range(kx[b]):
            i = ax[b, ii]
            word = wx[b, ii]
            s_i = np.int64(sign_x[b, i])
            for jj in range(kd[b]):
                c = popcount(word & wd[b, jj])
                j = ad[b, jj]
                pair_w[n_pairs] = i * n_out + j
                pair_c[n_pairs] = c * s_i * np.int64(sign_d[b, j])
                n_pairs += c != 0
        largest = 0
        for t in range(n_pairs):
            w = pair_w[t]
            count = pair_c[t]
            for q in range(k):
                dev = table[w * k + q]
                cq = count * np.int64(table_sign[w * k + q]) if signed else count
                g0 = np.float64(g[dev])
                m = abs(cq)
                pulses += m
                conductance += m * g0
                largest = max(largest, m)
                if track:
                    n_writes[dev] += m
                if wear:
                    touched[e] = dev
                if not (has_faults and fault[dev] != 0):
                    p = 0
                    for col in cols:
                        row[p] = col[dev]
                        p += 1
                    xi = np.float64(noise[e]) if noisy else 0.0
                    a, bb = MAP(np.float64(cq), xi, row)  # noqa: F821 - MAP is bound by compiled_write
                    v = (g0 + a * g0) + bb
                    g[dev] = min(max(v, np.float64(g_min[dev])), np.float64(g_max[dev]))
                e += 1
        steps += largest
    worn = 0
    if wear:
        for t in range(e):
            dev = touched[t]
            if fault[dev] == 0 and np.float64(n_writes[dev]) > endurance[dev]:
                fault[dev] = 3
                worn += 1
    return pulses, steps, conductance, worn, e
