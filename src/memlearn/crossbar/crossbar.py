"""One physical array of devices: conductances, per-device state, MVMs and pulsed writes."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from memlearn.crossbar.cost import CostConfig, PulseCounter
from memlearn.devices.device import Device
from memlearn.devices.state import DeviceState


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
        new_state = self.device_model.wear(state, self.n_writes)
        if new_state is not state:
            self._set_state(new_state)
        return total

    @torch.no_grad()
    def reset(self) -> None:
        """Return every device to its initial conductance (a block RESET; not counted as pulses)."""
        self.g.copy_(self.device_model.initial(self.state))
