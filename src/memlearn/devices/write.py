"""The one place where a pulse changes a conductance and where pulses, energy and wear are counted.

:func:`write` applies consecutive writes (one dense write, or a sequence of sparse ones) to an
array's conductances in place, through the response's declared n-pulse map
(:mod:`memlearn.devices.pulse_map`):

* compiled (CPU tensors, numba enabled): one call of the map's write kernel does every event's
  map, noise, bounds, faults, the per-device write counts, endurance and the totals;
* torch (CUDA, ``MEMLEARN_NUMBA=0``): the same float64 evaluation of the same map over all events
  at once (its ``a``, ``b`` do not depend on ``g``), then one gather/clip/scatter round per write;
* a response without a declared map, and any dense write that pulses most devices: the
  response's vectorised ``pulse_dense`` (the closed-form n-pulse moments with one normal draw
  per device; on a whole array torch's SIMD float32 pass is ~2x cheaper than the scalar
  float64 kernel, so it is compiled nowhere), on each write's devices in turn.

The normal draws are the same on the first two (one per event, or one per device for a dense
write, drawn in bulk by torch before anything else), so they agree bit for bit in float32 (the
float64 map differs between torch's vectorised ``expm1``/``sqrt`` and libm's by at most an ulp of
float64). Endurance is checked once, after the last write of a call.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

import torch
from torch import Tensor

from memlearn import _numba
from memlearn.devices.coincidences import Coincidences
from memlearn.devices.pulse_map import PulseMap, compiled_coincidences, compiled_write
from memlearn.devices.response import SPARSE_FRACTION
from memlearn.devices.state import FREE, DeviceState
from memlearn.devices.state_views import state_views

if TYPE_CHECKING:
    from memlearn.devices.device import Device

_EMPTY: dict[tuple, Tensor] = {}


class Written(NamedTuple):
    """What one :func:`write` call did: totals for ``PulseCounter.record`` and the state after wear."""

    pulses: Tensor
    """Pulses applied (int64, 0-d)."""
    steps: Tensor
    """Sum over writes of their largest count: parallel write rounds (int64, 0-d)."""
    pulse_conductance: Tensor
    """Sum over pulses of the pulsed device's conductance before its write (S, float64, 0-d)."""
    state: DeviceState
    """The device state afterwards (devices worn out by this call marked)."""


def _empty(dtype: torch.dtype) -> Tensor:
    out = _EMPTY.get((dtype,))
    if out is None:
        out = _EMPTY[(dtype,)] = torch.zeros(0, dtype=dtype)
    return out


def few_pulsed(flat_n: Tensor) -> bool:
    """Whether fewer than ``SPARSE_FRACTION`` of the devices are pulsed, estimated on a strided
    sample (counting every entry costs a fair part of a dense write). It only chooses the path."""
    stride = max(1, flat_n.numel() // 4096)
    return float((flat_n[::stride] != 0).float().mean()) < SPARSE_FRACTION


def _wears(device: "Device", n_writes: Tensor | None) -> bool:
    return n_writes is not None and device.faults is not None and not math.isinf(device.faults.endurance)


def write(device: "Device", g: Tensor, index: Tensor | None, n: Tensor, lengths: list[int] | None,
          state: DeviceState, generator: torch.Generator, n_writes: Tensor | None = None) -> Written:
    """Apply pulses to ``g`` in place.

    Args:
        g: conductances (S), contiguous; updated in place.
        index: flat device indices of the events (1-D, distinct within a write), or ``None`` for
            one dense write with ``n`` of ``g``'s shape.
        n: signed integer pulse counts, one per event (or per device).
        lengths: events per write, in order (``None`` for a dense write).
        n_writes: cumulative pulses per device (updated in place), or ``None`` (not tracked, no wear).
    """
    flat_n = n.reshape(-1)
    pulse_map = device.response.pulse_map()
    if pulse_map is None or g.dtype not in (torch.float32, torch.float64) or any(
            v.shape != g.shape for v in state.params.values()):
        return _generic(device, g, index, flat_n, [flat_n.numel()] if index is None else lengths, state,
                        generator, n_writes)
    if index is None:
        if not few_pulsed(flat_n):
            # Most devices pulsed: the response's vectorised closed form (SIMD float32 transcendentals)
            # beats a scalar float64 loop, so a dense write is compiled nowhere (it does not pay).
            return _generic(device, g, None, flat_n, [flat_n.numel()], state, generator, n_writes)
        # Few devices pulsed (small-batch training): work on those only, one normal draw per pulsed
        # device in index order. The choice depends on ``n`` alone, so both paths make it and draw
        # the same numbers. The compiled kernel skips the zeros itself (listing the pulsed devices
        # with ``nonzero`` costs more than the write); torch lists them.
        if _numba.usable(g, flat_n):
            lengths = [flat_n.numel()]
        else:
            index = flat_n.nonzero().squeeze(1)
            flat_n = flat_n.index_select(0, index)
            lengths = [index.numel()]
    faults = device.faults is not None
    events = int(flat_n.count_nonzero()) if index is None else flat_n.numel()
    noise = (torch.randn(events, generator=generator, dtype=g.dtype, device=g.device) if pulse_map.noisy
             else None)
    if _numba.usable(g, flat_n):
        return _compiled(device, pulse_map, g, index, flat_n, lengths, noise, state, n_writes, faults)
    return _torch(device, pulse_map, g, index, flat_n, lengths, noise, state, n_writes, faults)


def writes_coincidences(device: "Device", g: Tensor, state: DeviceState) -> bool:
    """Whether :func:`write_coincidences` applies: numba on, a CPU float array and a response with
    a declared map of per-device parameters (else the caller lists the events and calls :func:`write`)."""
    return (_numba.usable(g) and g.dtype in (torch.float32, torch.float64) and device.response.pulse_map() is not None
            and all(v.shape == g.shape for v in state.params.values()))


def write_coincidences(device: "Device", g: Tensor, trains: Coincidences, table: Tensor, table_sign: Tensor | None,
                       state: DeviceState, generator: torch.Generator, n_writes: Tensor | None = None) -> Written:
    """Apply per-sample coincidence writes in place, in one compiled pass (where
    :func:`writes_coincidences`): the same events, normal draws, physics and accounting as
    :func:`write` of the listed events (weight ``w``'s devices ``table[w k: w k + k]``, pulse signs
    ``table_sign`` at the same positions or all +1), bit for bit.

    Args:
        table: (in, out, k) int64, the flat device index of the ``k`` devices of weight ``(j, i)``
            at ``[i, j]`` (input-major: the order the kernel visits them).
        table_sign: (in, out, k) int32 pulse signs (``None``: all +1).
    """
    pulse_map = device.response.pulse_map()
    k = table.shape[2]
    n_events = trains.events * k
    noise = (torch.randn(n_events, generator=generator, dtype=g.dtype, device=g.device) if pulse_map.noisy
             else _empty(g.dtype))
    cols, g_min, g_max, fault, endurance = state_views(state, pulse_map.params, device.faults is not None)
    pulses, steps, conductance, worn, done = compiled_coincidences(pulse_map)(
        g.view(-1).numpy(), trains.wx, trains.ax, trains.kx, trains.wd, trains.ad, trains.kd, trains.sign_x,
        trains.sign_d, trains.sign_d.shape[1], table.view(-1).numpy(),
        _empty(torch.int32).numpy() if table_sign is None else table_sign.view(-1).numpy(),
        k, n_events, noise.numpy(), cols, g_min, g_max, fault, endurance,
        _empty(torch.int64).numpy() if n_writes is None else n_writes.view(-1).numpy(), _wears(device, n_writes))
    if done != n_events:  # the packed trains and their count disagree: a caller bug, never physics
        raise RuntimeError(f"coincidence write made {done} device events, expected {n_events}")
    torch.autograd.graph.increment_version(g)
    if n_writes is not None:
        torch.autograd.graph.increment_version(n_writes)
    if worn:
        torch.autograd.graph.increment_version(state.fault)
    return Written(torch.tensor(pulses, dtype=torch.int64), torch.tensor(steps, dtype=torch.int64),
                   torch.tensor(conductance, dtype=torch.float64), state)


def _compiled(device, pulse_map: PulseMap, g, index, n, lengths, noise, state, n_writes, faults) -> Written:
    cols, g_min, g_max, fault, endurance = state_views(state, pulse_map.params, faults)
    pulses, steps, conductance, worn = compiled_write(pulse_map)(
        g.view(-1).numpy(), (_empty(torch.int64) if index is None else index).numpy(), n.numpy(),
        torch.tensor(lengths, dtype=torch.int64).numpy(), (_empty(g.dtype) if noise is None else noise).numpy(),
        cols, g_min, g_max, fault, endurance,
        _empty(torch.int64).numpy() if n_writes is None else n_writes.view(-1).numpy(), index is None,
        _wears(device, n_writes))
    # Written through NumPy views: tell torch the buffers changed (caches key on their versions).
    torch.autograd.graph.increment_version(g)
    if n_writes is not None:
        torch.autograd.graph.increment_version(n_writes)
    if worn:
        torch.autograd.graph.increment_version(state.fault)
    return Written(torch.tensor(pulses, dtype=torch.int64), torch.tensor(steps, dtype=torch.int64),
                   torch.tensor(conductance, dtype=torch.float64), state)


def _coefficients(pulse_map: PulseMap, n: Tensor, noise: Tensor | None, state: DeviceState,
                  index: Tensor | None) -> tuple[Tensor, Tensor]:
    """Every event's map ``(a, b)`` in float64 (the declared map evaluated by torch)."""
    cols = [state.params[k].reshape(-1) for k in pulse_map.params]
    if index is not None:
        cols = [c.index_select(0, index) for c in cols]
    p = torch.stack(cols).to(torch.float64)
    xi = 0.0 if noise is None else noise.to(torch.float64)
    a, b = pulse_map.fn(n.to(torch.float64), xi, p)
    return a.expand(n.shape) if a.dim() == 0 else a, b.expand(n.shape) if b.dim() == 0 else b


def _torch(device, pulse_map: PulseMap, g, index, n, lengths, noise, state, n_writes, faults) -> Written:
    a, b = _coefficients(pulse_map, n, noise, state, index)
    flat = g.view(-1)
    g_min, g_max = state.params["g_min"].reshape(-1), state.params["g_max"].reshape(-1)
    fault = state.fault.reshape(-1)

    def mapped(g0: Tensor, n_k: Tensor, a_k: Tensor, b_k: Tensor, lo: Tensor, hi: Tensor, fault_k: Tensor) -> Tensor:
        x = g0.to(torch.float64)
        v = torch.minimum(torch.maximum((x + a_k * x) + b_k, lo.to(torch.float64)), hi.to(torch.float64))
        keep = n_k == 0
        if faults:
            keep = keep | (fault_k != FREE)
        return torch.where(keep, g0, v.to(g0.dtype))

    if index is None:  # one dense write: no gathers
        before = flat.clone()
        flat.copy_(mapped(before, n, a, b, g_min, g_max, fault))
        return _account(device, n, before, None, lengths, state, n_writes)
    before = torch.empty(n.shape, dtype=flat.dtype, device=flat.device)
    for idx, n_k, a_k, b_k, before_k in zip(*(t.split(lengths) for t in (index, n, a, b, before))):
        g0 = flat.index_select(0, idx)
        before_k.copy_(g0)
        flat.index_copy_(0, idx, mapped(g0, n_k, a_k, b_k, g_min.index_select(0, idx), g_max.index_select(0, idx),
                                        fault.index_select(0, idx)))
    return _account(device, n, before, index, lengths, state, n_writes)


def dense_pulse(device: "Device", g: Tensor, n: Tensor, state: DeviceState, generator: torch.Generator) -> Tensor:
    """The conductances after one dense write, as a new tensor: the response's vectorised closed
    form (sparse-aware itself); stuck and worn-out devices keep ``g``."""
    new = device.response.pulse(g, n, state.params, generator)
    if device.faults is None:
        # Without a Faults effect the fault map is all FREE and stays so (wear needs a finite
        # endurance, which only Faults draws); skipping the mask saves a pass over the array.
        return new
    return torch.where(state.fault == FREE, new, g)


def _generic(device, g, index, n, lengths, state, generator, n_writes) -> Written:
    """A response without a declared map, or a dense write of most devices: ``pulse_dense`` on
    each write's devices in turn."""
    response = device.response
    flat = g.view(-1)
    if index is None:  # one dense write; counted against the conductances before it
        new = dense_pulse(device, g, n.view(g.shape), state, generator)
        written = _account(device, n, flat, None, lengths, state, n_writes)
        g.copy_(new)
        return written
    names = tuple(state.params)
    before = torch.empty(n.shape, dtype=g.dtype, device=g.device)
    free = (state.fault.reshape(-1).index_select(0, index) == FREE) if device.faults is not None else None
    columns = [t.split(lengths) for t in (index, n, before, *(state.params[k].reshape(-1).index_select(0, index)
                                                              for k in names))]
    free_parts = free.split(lengths) if free is not None else [None] * len(lengths)
    for k, free_k in enumerate(free_parts):
        idx, n_k, before_k, *values = (c[k] for c in columns)
        g0 = flat.index_select(0, idx)
        before_k.copy_(g0)
        new = response.pulse_dense(g0, n_k, dict(zip(names, values)), generator)
        if free_k is not None:
            new = torch.where(free_k, new, g0)
        flat.index_copy_(0, idx, new)
    return _account(device, n, before, index, lengths, state, n_writes)


def _account(device, n: Tensor, before: Tensor, index: Tensor | None, lengths: list[int], state: DeviceState,
             n_writes: Tensor | None) -> Written:
    """Totals, per-device write counts and wear of the torch paths (what the kernel counts inline)."""
    n_abs = n.abs()
    if len(lengths) == 1:
        steps = n_abs.max() if n_abs.numel() else torch.zeros((), dtype=n_abs.dtype, device=n.device)
    else:  # each write lasts as many pulse slots as its largest count
        write_of = torch.repeat_interleave(torch.arange(len(lengths), device=n.device),
                                           torch.tensor(lengths, dtype=torch.long, device=n.device),
                                           output_size=n.numel())
        steps = torch.zeros(len(lengths), dtype=n_abs.dtype, device=n.device).scatter_reduce_(
            0, write_of, n_abs, "amax").sum()
    pulses = n_abs.sum().to(torch.int64)
    # A torch reduction, not a BLAS dot: bit-identical across processes. Sparse writes sum in
    # float64 (as the kernel does); a dense write sums the array's float products.
    conductance = (torch.mul(n_abs, before).sum() if index is None
                   else torch.mul(n_abs, before.to(torch.float64)).sum()).to(torch.float64)
    if n_writes is not None:
        if index is None:
            n_writes.view(-1).add_(n_abs)
        else:
            n_writes.view(-1).index_add_(0, index, n_abs.to(n_writes.dtype))
        state = device.wear(state, n_writes)
    return Written(pulses, steps.to(torch.int64), conductance, state)
