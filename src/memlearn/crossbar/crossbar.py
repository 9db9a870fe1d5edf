"""One physical array of devices: conductances, per-device state, MVMs and pulsed writes."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from memlearn.crossbar.cost import CostConfig, PulseCounter
from memlearn.devices.coincidences import Coincidences
from memlearn.devices.device import Device
from memlearn.devices.state import FREE, DeviceState


class Crossbar(nn.Module):
    """A ``rows x cols`` array: rows are word lines (inputs), columns bit lines (outputs).

    Conductances ``g`` (S) and the per-device state are buffers, so ``.to()``, ``state_dict()``
    and checkpoints carry them. ``apply_pulses`` is the only in-place write; it counts pulses for
    energy and endurance. ``mvm(v)`` returns the bit-line currents ``v @ G`` (ideal wires; IR drop
    is the tile's choice of solver).

    Args:
        rows, cols: array size.
        device: the device model.
        generator: draws the device-to-device parameters once.
        cost: per-operation figures for the pulse counter (``pulse_counter``); defaults if ``None``.
    """

    def __init__(self, rows: int, cols: int, device: Device, generator: torch.Generator, *,
                 dtype: torch.dtype = torch.float32, torch_device: torch.device | str | None = None,
                 cost: CostConfig | None = None) -> None:
        super().__init__()
        if rows < 1 or cols < 1:
            raise ValueError(f"crossbar size must be >= 1x1, got {rows}x{cols}")
        self.rows, self.cols = int(rows), int(cols)
        self.device_model = device
        state = device.sample((rows, cols), generator, torch_device, dtype)
        self._state_keys = tuple(state.flat().keys())
        self._state_names = tuple(f"state_{k}" for k in self._state_keys)
        self._state_view: tuple[tuple[Tensor, ...], DeviceState] | None = None
        for name, tensor in state.flat().items():
            self.register_buffer(f"state_{name}", tensor)
        self.register_buffer("g", device.initial(state))
        self.register_buffer("n_writes", torch.zeros(rows, cols, dtype=torch.int64, device=torch_device))
        self.pulse_counter = PulseCounter(cost or CostConfig(), torch_device)

    @property
    def state(self) -> DeviceState:
        """The per-device state as one value, rebuilt only when a buffer was replaced (``.to()``,
        wear, loading): every write reads it, and rebuilding it costs more than the write's bookkeeping."""
        buffers = self._buffers
        tensors = tuple(buffers[name] for name in self._state_names)
        view = self._state_view
        if view is None or any(a is not b for a, b in zip(view[0], tensors)):
            view = self._state_view = (tensors, DeviceState.unflat(dict(zip(self._state_keys, tensors))))
        return view[1]

    def own_buffers(self) -> tuple[Tensor, ...]:
        """``g``, ``n_writes`` and the state tensors (``buffers(recurse=False)`` without the cost of
        its generator: read caches key on them at every read)."""
        return tuple(b for b in self._buffers.values() if b is not None)

    def _set_state(self, state: DeviceState) -> None:
        for name, tensor in state.flat().items():
            setattr(self, f"state_{name}", tensor)

    def conductances(self, t: float | None = None, generator: torch.Generator | None = None) -> Tensor:
        """Conductances as read at time ``t`` (with read noise when a generator is given)."""
        return self.device_model.read(self.g, self.state, t, generator)

    def mvm(self, v: Tensor, t: float | None = None, generator: torch.Generator | None = None) -> Tensor:
        """Bit-line currents (A) for word-line voltages ``v`` (V), shape (batch, rows) -> (batch, cols)."""
        return v @ self.conductances(t, generator)

    def mvm_t(self, u: Tensor, t: float | None = None, generator: torch.Generator | None = None) -> Tensor:
        """Transposed MVM: (batch, cols) -> (batch, rows), ``u @ G^T``."""
        return u @ self.conductances(t, generator).T

    @torch.no_grad()
    def apply_pulses(self, n: Tensor, generator: torch.Generator) -> Tensor:
        """Apply a signed integer pulse-count matrix (rows, cols) to every device at once.

        Returns the number of pulses applied (a scalar tensor). Devices past their endurance
        budget become stuck (``Device.write``).
        """
        if n.shape != self.g.shape:
            raise ValueError(f"pulse matrix has shape {tuple(n.shape)}, crossbar is {tuple(self.g.shape)}")
        if n.dtype == torch.bool:
            raise TypeError("pulse counts must be an integer tensor, got dtype torch.bool")
        if n.is_floating_point():
            if not (bool(torch.isfinite(n).all()) and torch.equal(n, n.round())):
                raise ValueError("pulse counts must be finite whole numbers (signed pulse counts)")
            n = n.to(torch.int32)
        return self._write(None, n.contiguous(), None, generator)

    @torch.no_grad()
    def apply_pulse_sequence(self, index: Tensor, n: Tensor, lengths: list[int],
                             generator: torch.Generator) -> Tensor:
        """Apply a sequence of sparse writes in turn: write ``k`` pulses the devices
        ``index[o_k:o_k + lengths[k]]`` (flat indices into the (rows, cols) array, distinct within a
        write) by the signed counts ``n`` at the same positions.

        Pulse for pulse the same physics as ``len(lengths)`` calls of :meth:`apply_pulses` with
        matrices that are zero elsewhere, but the work grows with the number of pulsed devices,
        not with the array (``Device.write``; endurance is checked once, after the last write).
        Returns the number of pulses applied.
        """
        if index.ndim != 1 or n.shape != index.shape:
            raise ValueError(f"index and counts must be 1-D of one length, "
                             f"got {tuple(index.shape)} and {tuple(n.shape)}")
        if sum(lengths) != index.numel() or any(k < 0 for k in lengths):
            raise ValueError(f"write lengths {lengths} do not add up to the {index.numel()} events")
        if n.is_floating_point() or n.dtype == torch.bool:
            raise TypeError(f"pulse counts must be an integer tensor, got {n.dtype}")
        return self._write(index.contiguous(), n.contiguous(), lengths, generator)

    @torch.no_grad()
    def apply_coincidences(self, trains: Coincidences, table: Tensor, table_sign: Tensor | None,
                           generator: torch.Generator) -> Tensor:
        """Apply packed per-sample row and column pulse trains: each sample's coincidences pulse the
        devices ``table`` (in, out, k) of their weights (signs ``table_sign``, or all +1), sample by
        sample, in one compiled pass (``Device.write_coincidences``; only where
        :meth:`writes_coincidences`). Same physics and counts as :meth:`apply_pulse_sequence` of the
        listed events. Returns the number of pulses applied."""
        state = self.state
        written = self.device_model.write_coincidences(self.g, trains, table, table_sign, state, generator,
                                                       n_writes=self.n_writes)
        if written.state is not state:
            self._set_state(written.state)
        return self.pulse_counter.record(written.pulses, written.steps, written.pulse_conductance)

    def writes_coincidences(self) -> bool:
        """Whether :meth:`apply_coincidences` applies to this array (CPU, numba, a declared pulse map)."""
        return self.device_model.writes_coincidences(self.g, self.state)

    def _write(self, index: Tensor | None, n: Tensor, lengths: list[int] | None, generator: torch.Generator) -> Tensor:
        """The device writes the buffers; the pulse counter records its totals (one accounting path)."""
        state = self.state
        written = self.device_model.write(self.g, index, n, lengths, state, generator, n_writes=self.n_writes)
        if written.state is not state:
            self._set_state(written.state)
        return self.pulse_counter.record(written.pulses, written.steps, written.pulse_conductance)

    @torch.no_grad()
    def reset(self) -> None:
        """Return every device to its initial conductance (a block RESET; not counted as pulses)."""
        self.g.copy_(self.device_model.initial(self.state))

    @torch.no_grad()
    def set_conductances(self, g: Tensor, *, respect_faults: bool = True) -> None:
        """Set the conductances without pulses: the one non-pulse write (digital initialisation,
        exact deployment programming, fault injection). Nothing is counted as pulses, energy or wear.

        Args:
            g: conductances (rows, cols), S (the caller bounds them; no clamping here).
            respect_faults: leave devices with a fault (stuck, worn out) as they are; ``False``
                writes every device (e.g. setting the conductance of a device just made stuck).
        """
        if g.shape != self.g.shape:
            raise ValueError(f"conductances have shape {tuple(g.shape)}, crossbar is {tuple(self.g.shape)}")
        g = g.to(self.g)
        self.g.copy_(torch.where(self.state.fault == FREE, g, self.g) if respect_faults else g)
