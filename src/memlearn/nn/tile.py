"""AnalogTile: a logical weight matrix held as conductances; forward = DAC -> crossbar -> ADC."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from memlearn.crossbar.crossbar import Crossbar
from memlearn.crossbar.mapping import DifferentialMapping
from memlearn.devices.device import Device
from memlearn.devices.responses.ideal import Ideal


@dataclass(frozen=True, kw_only=True)
class TileConfig:
    """Everything that describes one analog tile (device, mapping, periphery)."""

    device: Device = field(default_factory=lambda: Device(response=Ideal()))
    """Device model of every cell."""
    mapping: DifferentialMapping = field(default_factory=DifferentialMapping)
    """How weights map to conductances."""


class _TileMatmul(torch.autograd.Function):
    """Forward through the circuit; backward gives the transposed circuit MVM for the input
    gradient and records (x, d) on the tile as the pending update request."""

    @staticmethod
    def forward(ctx, x: Tensor, anchor: Tensor, tile: "AnalogTile") -> Tensor:
        ctx.tile = tile
        ctx.save_for_backward(x)
        return tile.forward_circuit(x)

    @staticmethod
    def backward(ctx, d: Tensor):
        (x,) = ctx.saved_tensors
        tile: AnalogTile = ctx.tile
        tile.record_update(x, d)
        grad_x = tile.backward_circuit(d) if ctx.needs_input_grad[0] else None
        return grad_x, None, None


class AnalogTile(nn.Module):
    """A weight matrix ``W`` (out, in) stored in a crossbar as a differential pair ``[G+ | G-]``.

    Args:
        in_features, out_features: logical matrix size.
        config: the tile's physics and periphery.
        seed: seeds the tile's own generator (device-to-device draws, noise, pulses).
    """

    def __init__(self, in_features: int, out_features: int, config: TileConfig | None = None, *,
                 seed: int = 0, device: torch.device | str | None = None) -> None:
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.config = config or TileConfig()
        self.generator = torch.Generator(device=device or "cpu").manual_seed(seed)
        cols = self.out_features * self.config.mapping.columns_per_output()
        self.array = Crossbar(self.in_features, cols, self.config.device, self.generator, torch_device=device)
        response = self.config.device.response
        self._g_min, self._g_max = float(response.g_min), float(response.g_max)
        self.read_time: float | None = None
        self._grad_anchor = torch.empty(0, requires_grad=True)  # makes autograd call backward even when no input needs grad
        self.pending: tuple[Tensor, Tensor] | None = None

    # --- generator state travels with state_dict ---
    def get_extra_state(self):
        return {"generator": self.generator.get_state()}

    def set_extra_state(self, state) -> None:
        self.generator.set_state(state["generator"])

    @property
    def g_range(self) -> float:
        return self._g_max - self._g_min

    def weights(self) -> Tensor:
        """What the chip holds, (out, in), read back through the devices without periphery or noise."""
        return self.config.mapping.to_weights(self.array.g, self.g_range, self.out_features)

    def forward_circuit(self, x: Tensor) -> Tensor:
        g = self.array.conductances(self.read_time, self.generator)
        return self.config.mapping.to_weights(g, self.g_range, self.out_features).matmul(x.T).T

    def backward_circuit(self, d: Tensor) -> Tensor:
        g = self.array.conductances(self.read_time, self.generator)
        return d @ self.config.mapping.to_weights(g, self.g_range, self.out_features)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.in_features:
            raise ValueError(f"tile expects {self.in_features} input features, got {x.shape[-1]}")
        return _TileMatmul.apply(x, self._grad_anchor, self)

    def record_update(self, x: Tensor, d: Tensor) -> None:
        self.pending = (x.detach(), d.detach())

    @property
    def dw_min(self) -> float:
        """Nominal weight change of one +1 pulse on a weight at zero (both devices of the pair move)."""
        state = self.array.state
        mid = (state.g_min + state.g_max) / 2
        up = self.config.device.response.step_at(mid, state.params, up=True).abs().mean()
        down = self.config.device.response.step_at(mid, state.params, up=False).abs().mean()
        return float(self.config.mapping.w_max / self.g_range * (up + down))

    @torch.no_grad()
    def apply_weight_pulses(self, n_w: Tensor) -> Tensor:
        """Apply signed per-weight pulse counts (out, in) through the mapping; returns pulses applied."""
        if n_w.shape != (self.out_features, self.in_features):
            raise ValueError(f"pulse counts have shape {tuple(n_w.shape)}, tile is {(self.out_features, self.in_features)}")
        return self.array.apply_pulses(self.config.mapping.device_pulses(n_w), self.generator)

    @torch.no_grad()
    def set_weights_exact(self, w: Tensor) -> None:
        """Write target conductances directly (no pulses): for tests and digital initialisation only."""
        g = self.config.mapping.target_conductances(w, self._g_min, self._g_max)
        state = self.array.state
        g = torch.minimum(torch.maximum(g.to(self.array.g), state.g_min), state.g_max)
        self.array.g.copy_(torch.where(state.fault == 0, g, self.array.g))
