"""One physical array of devices: conductances, per-device state, MVMs and pulsed writes."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from memlearn import _numba
from memlearn.crossbar._write_kernel import affine_sequence
from memlearn.crossbar.cost import CostConfig, PulseCounter
from memlearn.devices.device import Device
from memlearn.devices.response import SPARSE_FRACTION
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
        for name, tensor in state.flat().items():
            self.register_buffer(f"state_{name}", tensor)
        self.register_buffer("g", device.initial(state))
        self.register_buffer("n_writes", torch.zeros(rows, cols, dtype=torch.int64, device=torch_device))
        self.pulse_counter = PulseCounter(cost or CostConfig(), torch_device)

    @property
    def state(self) -> DeviceState:
        return DeviceState.unflat({k: getattr(self, f"state_{k}") for k in self._state_keys})

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
        budget become stuck (``Device.wear``).
        """
        if n.shape != self.g.shape:
            raise ValueError(f"pulse matrix has shape {tuple(n.shape)}, crossbar is {tuple(self.g.shape)}")
        if n.dtype == torch.bool:
            raise TypeError("pulse counts must be an integer tensor, got dtype torch.bool")
        if n.is_floating_point():
            if not (bool(torch.isfinite(n).all()) and torch.equal(n, n.round())):
                raise ValueError("pulse counts must be finite whole numbers (signed pulse counts)")
            n = n.to(torch.int32)
        state = self.state
        n_abs = n.abs()  # keeps the caller's integer dtype: a full-array int64 copy costs more than the update
        total = self.pulse_counter.record(n_abs, self.g)
        self.g.copy_(self.device_model.pulse(self.g, n, state, generator))
        self.n_writes.add_(n_abs)
        self._wear(state)
        return total

    @torch.no_grad()
    def apply_pulse_sequence(self, index: Tensor, n: Tensor, lengths: list[int],
                             generator: torch.Generator) -> Tensor:
        """Apply a sequence of sparse writes in turn: write ``k`` pulses the devices
        ``index[o_k:o_k + lengths[k]]`` (flat indices into the (rows, cols) array, distinct within a
        write) by the signed counts ``n`` at the same positions.

        Pulse for pulse the same physics as ``len(lengths)`` calls of :meth:`apply_pulses` with
        matrices that are zero elsewhere, but the work grows with the number of pulsed devices,
        not with the array: the per-device parameters of every event are gathered once, and only
        the conductances (which each write changes) are read and written per write. Endurance is
        checked once, after the last write. Returns the number of pulses applied.
        """
        if index.ndim != 1 or n.shape != index.shape:
            raise ValueError(f"index and counts must be 1-D of one length, "
                             f"got {tuple(index.shape)} and {tuple(n.shape)}")
        if sum(lengths) != index.numel() or any(k < 0 for k in lengths):
            raise ValueError(f"write lengths {lengths} do not add up to the {index.numel()} events")
        if n.is_floating_point() or n.dtype == torch.bool:
            raise TypeError(f"pulse counts must be an integer tensor, got {n.dtype}")
        if len(lengths) == 1 and index.numel() >= SPARSE_FRACTION * self.g.numel():
            # One write to a large part of the array: contiguous passes beat gathers (the same
            # crossover at which ``PulseResponse.pulse`` turns a dense write sparse).
            dense = torch.zeros(self.g.numel(), dtype=n.dtype, device=n.device).index_copy_(0, index, n)
            return self.apply_pulses(dense.view(self.g.shape), generator)
        state = self.state
        params = self._event_params(state, index)
        affine = self.device_model.response.affine
        if affine and _numba.usable(self.g):
            return self._compiled_affine_writes(index, n, lengths, params, state, generator)
        free = None
        if self.device_model.faults is not None:
            free = state.fault.reshape(-1).index_select(0, index) == FREE
        if affine:
            g_before = self._affine_writes(index, n, lengths, params, free, generator)
        else:
            g_before = self._generic_writes(index, n, lengths, params, free, generator)
        n_abs = n.abs()
        # Each write lasts as many pulse slots as its largest count.
        write = torch.repeat_interleave(torch.arange(len(lengths), device=n.device),
                                        torch.tensor(lengths, dtype=torch.long, device=n.device), output_size=n.numel())
        steps = torch.zeros(len(lengths), dtype=n_abs.dtype, device=n.device).scatter_reduce_(
            0, write, n_abs, "amax").sum()
        total = self.pulse_counter.record_sequence(n_abs, g_before, steps)
        self.n_writes.view(-1).index_add_(0, index, n_abs.to(self.n_writes.dtype))
        self._wear(state)
        return total

    def _event_params(self, state: DeviceState, index: Tensor) -> dict[str, Tensor]:
        """Every event's device parameters, by one row gather from a packed (devices, parameters)
        table (one cache line per event instead of one per parameter; the columns are views)."""
        key = tuple((v.data_ptr(), v._version) for v in state.params.values())
        cached = getattr(self, "_packed", None)
        if cached is None or cached[0] != key:  # rebuilt when the parameters change
            names = tuple(state.params)
            table = torch.stack([state.params[k].reshape(-1) for k in names], dim=1)
            cached = self._packed = (key, names, table)
        _, names, table = cached
        return dict(zip(names, table.index_select(0, index).unbind(1)))

    def _wear(self, state: DeviceState) -> None:
        """Devices past their endurance budget become stuck (``Device.wear``)."""
        new_state = self.device_model.wear(state, self.n_writes)
        if new_state is not state:
            self._set_state(new_state)

    def _affine_maps(self, n: Tensor, params: dict[str, Tensor], generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """Every event's n-pulse map ``g -> g + a g + b`` with its cycle-to-cycle noise drawn (an
        affine response's map does not depend on ``g``, so all are computed at once)."""
        noise = torch.randn(n.shape, generator=generator, dtype=self.g.dtype, device=n.device)
        return self.device_model.response.affine_maps(n, params, noise)

    def _compiled_affine_writes(self, index: Tensor, n: Tensor, lengths: list[int], params: dict[str, Tensor],
                                state: DeviceState, generator: torch.Generator) -> Tensor:
        """The affine writes, pulse accounting and wear with the in-order loop compiled
        (:func:`memlearn.crossbar._write_kernel.affine_sequence`): the same maps, random draws and
        results as :meth:`_affine_writes`, without one torch round per write."""
        a, b = self._affine_maps(n, params, generator)
        fault = state.fault.reshape(-1) if self.device_model.faults is not None else state.fault.new_zeros(0)
        pulses, steps, conductance = affine_sequence(
            self.g.view(-1).numpy(), index.numpy(), a.numpy(), b.to(a.dtype).numpy(),
            state.params["g_min"].reshape(-1).numpy(), state.params["g_max"].reshape(-1).numpy(),
            fault.numpy(), n.abs().numpy(), torch.tensor(lengths, dtype=torch.int64).numpy(),
            self.n_writes.view(-1).numpy())
        # Written through NumPy views: tell torch the buffers changed (caches key on their versions).
        torch.autograd.graph.increment_version(self.g)
        torch.autograd.graph.increment_version(self.n_writes)
        total = self.pulse_counter.record_totals(pulses, steps, conductance)
        self._wear(state)
        return total

    def _affine_writes(self, index: Tensor, n: Tensor, lengths: list[int], params: dict[str, Tensor],
                       free: Tensor | None, generator: torch.Generator) -> Tensor:
        """Writes of a response whose n-pulse map ``g -> clip(g + a g + b + std xi)`` does not depend
        on ``g``: every event's map is computed at once; each write then only reads, maps, clips
        and writes back its devices. Returns the conductances before each event's write."""
        a, b = self._affine_maps(n, params, generator)
        if free is not None:  # stuck and worn-out devices keep their conductance
            a, b = a * free, b * free
        flat = self.g.view(-1)
        g_before = torch.empty(index.shape, dtype=flat.dtype, device=flat.device)
        parts = zip(*(t.split(lengths) for t in (index, a, b, params["g_min"], params["g_max"], g_before)))
        for idx, a_k, b_k, lo, hi, before in parts:
            g = flat.index_select(0, idx)
            before.copy_(g)
            flat.index_copy_(0, idx, torch.addcmul(b_k, a_k, g).add_(g).clamp_(lo, hi))
        return g_before

    def _generic_writes(self, index: Tensor, n: Tensor, lengths: list[int], params: dict[str, Tensor],
                        free: Tensor | None, generator: torch.Generator) -> Tensor:
        """Writes of any response: its ``pulse_dense`` on each write's devices in turn."""
        response = self.device_model.response
        flat = self.g.view(-1)
        g_before = torch.empty(index.shape, dtype=flat.dtype, device=flat.device)
        names = tuple(params)
        free_parts = free.split(lengths) if free is not None else [None] * len(lengths)
        columns = [t.split(lengths) for t in (index, n, g_before, *(params[k] for k in names))]
        for k, free_k in enumerate(free_parts):
            idx, n_k, before, *values = (c[k] for c in columns)
            g = flat.index_select(0, idx)
            before.copy_(g)
            new = response.pulse_dense(g, n_k, dict(zip(names, values)), generator)
            if free_k is not None:
                new = torch.where(free_k, new, g)
            flat.index_copy_(0, idx, new)
        return g_before

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
