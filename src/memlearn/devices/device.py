"""Device = one pulse response + independent effects; the only thing the crossbar sees."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from memlearn.devices.drift import Drift
from memlearn.devices.faults import Faults
from memlearn.devices.read_noise import ReadNoise
from memlearn.devices.response import PulseResponse
from memlearn.devices.state import FREE, STUCK_AT_GMAX, STUCK_AT_GMIN, WORN_OUT, DeviceState
from memlearn.devices.coincidences import Coincidences
from memlearn.devices.write import Written, dense_pulse, few_pulsed, write, write_coincidences, writes_coincidences


@dataclass(frozen=True, kw_only=True)
class Device:
    """A memristive device model, vectorised over arrays of any shape.

    ``response`` decides what programming pulses do; ``read_noise``, ``drift`` and ``faults``
    are independent effects, each off when ``None``. All methods but :meth:`write` are pure: they
    return new tensors and never mutate their inputs. :meth:`write` is the one writer: it changes
    an array's conductances (and write counts) in place, and counts what it did. Every random draw
    takes an explicit generator.
    """

    response: PulseResponse
    read_noise: ReadNoise | None = None
    drift: Drift | None = None
    faults: Faults | None = None

    def sample(self, shape, generator: torch.Generator, device: torch.device | str | None = None,
               dtype: torch.dtype = torch.float32) -> DeviceState:
        """Draw every per-device quantity once: response parameters, drift exponents, fault map."""
        shape = torch.Size(shape)
        params = self.response.sample(shape, generator, device, dtype)
        if self.drift is not None:
            nu = self.drift.sample_nu(shape, generator, device, dtype)
        else:
            nu = torch.zeros(shape, device=device, dtype=dtype)
        if self.faults is not None:
            fault, endurance = self.faults.sample(shape, generator, device, dtype)
        else:
            fault = torch.zeros(shape, dtype=torch.int8, device=device)
            endurance = torch.full(shape, float("inf"), device=device, dtype=dtype)
        return DeviceState(params=params, drift_nu=nu, fault=fault, endurance=endurance)

    def initial(self, state: DeviceState) -> Tensor:
        """Conductance of freshly reset devices; stuck devices sit at their stuck value."""
        g = self.response.initial(state.params)
        g = torch.where(state.fault == STUCK_AT_GMIN, state.g_min, g)
        return torch.where(state.fault == STUCK_AT_GMAX, state.g_max, g)

    def pulse(self, g: Tensor, n: Tensor, state: DeviceState, generator: torch.Generator) -> Tensor:
        """Conductance after ``n`` (signed integer tensor, + = potentiate) identical pulses: one
        dense :meth:`write` into a copy of ``g`` (stuck devices keep their conductance)."""
        if n.shape != g.shape:
            n = n.expand(g.shape)
        if self.response.pulse_map() is None or not few_pulsed(n.reshape(-1)):
            return dense_pulse(self, g, n, state, generator)  # what a dense write does, uncounted
        out = g.clone(memory_format=torch.contiguous_format)
        write(self, out, None, n.contiguous(), None, state, generator)
        return out

    def write(self, g: Tensor, index: Tensor | None, n: Tensor, lengths: list[int] | None, state: DeviceState,
              generator: torch.Generator, n_writes: Tensor | None = None) -> Written:
        """Apply pulses to the conductances ``g`` in place: one dense write (``index`` None, ``n`` of
        ``g``'s shape) or consecutive sparse writes (write ``k`` pulses the devices
        ``index[o_k:o_k + lengths[k]]``, flat and distinct within a write, by the counts ``n`` at
        the same positions), in order. Adds the pulses to ``n_writes`` per device and marks devices
        past their endurance worn out (checked after the last write). Returns the totals and the
        state afterwards (:class:`memlearn.devices.write.Written`)."""
        return write(self, g, index, n, lengths, state, generator, n_writes)

    def write_coincidences(self, g: Tensor, trains: Coincidences, table: Tensor, table_sign: Tensor | None,
                           state: DeviceState, generator: torch.Generator, n_writes: Tensor | None = None) -> Written:
        """Apply packed per-sample pulse trains (:class:`Coincidences`): each sample's coincidences
        pulse the devices ``table`` (weights, k) of their weights, in one compiled pass; the same
        writes as :meth:`write` of the listed events, bit for bit. Only where
        :meth:`writes_coincidences` (else list the events and call :meth:`write`)."""
        return write_coincidences(self, g, trains, table, table_sign, state, generator, n_writes)

    def writes_coincidences(self, g: Tensor, state: DeviceState) -> bool:
        """Whether :meth:`write_coincidences` can write ``g`` (numba on, CPU, a declared pulse map)."""
        return writes_coincidences(self, g, state)

    def read(self, g: Tensor, state: DeviceState, t: float | None = None,
             generator: torch.Generator | None = None) -> Tensor:
        """Conductance as read at time ``t`` (s) after programming: drift, then read noise."""
        out = g
        if self.drift is not None and t is not None:
            out = self.drift.apply(out, state.drift_nu, t)
        if self.read_noise is not None and generator is not None:
            out = self.read_noise.apply(out, state.g_max, generator)
        return out

    def wear(self, state: DeviceState, n_writes: Tensor) -> DeviceState:
        """Mark devices whose cumulative write pulses exceed their endurance as worn out (stuck)."""
        if self.faults is None or math.isinf(self.faults.endurance):
            return state  # unlimited endurance: nothing can wear out (saves two passes per update)
        worn = (state.fault == FREE) & (n_writes.to(state.endurance.dtype) > state.endurance)
        if not bool(worn.any()):
            return state
        return state.replace(fault=torch.where(worn, torch.full_like(state.fault, WORN_OUT), state.fault))

    def n_states(self, state: DeviceState) -> Tensor:
        """Distinguishable states between g_min and g_max, per device."""
        return self.response.n_states(state.params)
