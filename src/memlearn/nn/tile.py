"""AnalogTile: a logical weight matrix held as conductances; forward = DAC -> crossbar -> ADC.

The tile is the seam between the layers and the chip: its reads are in ``_circuit`` (through the
periphery pipeline of :mod:`memlearn.periphery.mvm`), its cached read statistics in
``_read_cache``, its writes in ``_write``. Every pulse reaches the devices through :meth:`write`.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

import torch
from torch import Tensor, nn

from memlearn.crossbar.cost import MvmCounter, TileCost, model_cost
from memlearn.crossbar.crossbar import Crossbar
from memlearn.crossbar.programming import ProgramResult
from memlearn.crossbar.tiling import TilePartition
from memlearn.nn import _circuit, _write
from memlearn.nn._autograd import TileMatmul
from memlearn.nn._checks import check_input
from memlearn.nn._read_cache import ReadCache
from memlearn.nn._scratch import ScratchPool
from memlearn.nn.pulses import Pulses
from memlearn.nn.tile_config import TileConfig
from memlearn.periphery.weight_read import ReadStatistics, WeightSampler

__all__ = ["AnalogTile", "TileConfig"]


class AnalogTile(nn.Module):
    """A weight matrix ``W`` (out, in) stored as conductances on one or more physical arrays.

    Forward ``y = W x``: inputs are scaled (noise management), converted by the DAC, multiplied
    by the conductances as read at ``read_time`` (drift, then read noise drawn once per MVM call),
    each physical array's partial column outputs get output noise and are digitised by the ADC,
    and the partial results are summed digitally and scaled back (weight scale, input scale).
    Backward ``d = W^T delta`` is the transposed read with its own DAC/ADC settings. With every
    non-ideality off both equal the float matmul of :meth:`weights`.

    Args:
        in_features, out_features: logical matrix size.
        config: the tile's physics and periphery.
        seed: seeds the tile's own generator (device-to-device draws, noise, pulses).
        device: torch device of the tile's tensors.
    """

    def __init__(self, in_features: int, out_features: int, config: TileConfig | None = None, *,
                 seed: int = 0, device: torch.device | str | None = None) -> None:
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(f"tile size must be >= 1x1, got in_features={in_features}, out_features={out_features}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.config = config or TileConfig()
        self.name = "AnalogTile"
        """How error messages name this tile (layers set their own description)."""
        self.generator = torch.Generator(device=device or "cpu").manual_seed(seed)
        mapping = self.config.mapping
        self.array = Crossbar(self.in_features, mapping.n_columns(self.out_features), self.config.device,
                              self.generator, torch_device=device, cost=self.config.cost)
        response = self.config.device.response
        self._g_min, self._g_max = float(response.g_min), float(response.g_max)
        rows, cols = self.config.array_size
        self.partition = TilePartition(in_features=self.in_features, out_features=self.out_features,
                                       array_rows=rows, outputs_per_array=mapping.outputs_per_array(cols))
        self.register_buffer("w_scale", torch.full((self.out_features,), float(mapping.w_max), device=device))
        self.counter = MvmCounter(self.config.cost, device)
        self.read_time: float | None = None
        self._grad_anchor = torch.empty(0, requires_grad=True)  # makes autograd call backward even when no input needs grad
        self.pending: tuple[Tensor, Tensor] | None = None
        """The (x, d) of the last backward: the update request the optimizer turns into pulses."""
        self.sampler = WeightSampler(self.config.read_noise_sampling)
        """How each read draws the devices' read noise."""
        self.read_cache = ReadCache()
        """Drift-only read statistics of the arrays, until the next write or read-time change."""
        self.scratch = ScratchPool()
        """Reused work buffers of the reads."""
        self.event_table = _write.EventTable()
        """The devices and pulse signs of every weight (sparse writes)."""
        self._nominal_step = _write.NominalStep()
        self.linear_cache: tuple | None = None
        """The weights of :meth:`linear_reads` with the statistics and weight scale they were read from."""
        self._direction_cache: tuple[TileConfig, tuple[_circuit.Direction, _circuit.Direction]] | None = None

    # --- generator: lives on the tile's device, its state travels with state_dict ---
    def get_extra_state(self):
        return {"generator": self.generator.get_state(), "generator_device": self.generator.device.type}

    def set_extra_state(self, state) -> None:
        saved_on = state.get("generator_device", "cpu")
        if saved_on == self.generator.device.type:
            self.generator.set_state(state["generator"])
        else:  # checkpoint from another device type: reseed deterministically from the saved state
            cpu = torch.Generator()
            cpu.set_state(state["generator"]) if saved_on == "cpu" else cpu.manual_seed(0)
            self.generator.manual_seed(int(torch.randint(0, 2**62, (1,), generator=cpu)))

    def _apply(self, fn, recurse: bool = True):
        out = super()._apply(fn, recurse)
        device = self.array.g.device
        if self.generator.device != device:
            seed = int(torch.randint(0, 2**62, (1,), generator=self.generator, device=self.generator.device))
            self.generator = torch.Generator(device=device).manual_seed(seed)
        self.read_cache.clear()
        self.linear_cache = None
        self._nominal_step.clear()
        self.sampler.reset()
        self.scratch.clear()
        return out

    # --- what the chip holds ---
    @property
    def g_range(self) -> float:
        return self._g_max - self._g_min

    def weights(self) -> Tensor:
        """What the chip holds, (out, in), read back through the devices without periphery or noise."""
        w_n = self.config.mapping.normalised(self.array.g, self._g_min, self._g_max, self.out_features)
        return (w_n * self.w_scale).T

    def set_read_time(self, t: float | None) -> None:
        """Read the conductances as they are ``t`` seconds after programming (drift); ``None`` = at once."""
        if t is not None and not (math.isfinite(t) and t >= 0):
            raise ValueError(f"read time t={t!r} must be a finite number of seconds >= 0 (or None)")
        self.read_time = None if t is None else float(t)


    def _read_statistics(self) -> ReadStatistics:
        """The cached drift-only read statistics (rebuilt after any write or read-time change)."""
        return self.read_cache.statistics(self)

    # --- the circuit (``_circuit``) ---
    def directions(self) -> tuple[_circuit.Direction, _circuit.Direction]:
        """Forward and backward read directions of the current config (worked out once per config)."""
        cache = self._direction_cache
        if cache is None or cache[0] is not self.config:
            dirs = _circuit.directions(self.config, self.in_features, self.out_features, self.partition,
                                       self.array.cols)
            cache = self._direction_cache = (self.config, dirs)
        return cache[1]

    def forward_circuit(self, x: Tensor) -> Tensor:
        """``y = W x`` through DAC, arrays and ADC: (..., in) -> (..., out)."""
        return _circuit.forward_read(self, x, check_finite=False)

    def read_forward(self, x: Tensor, check_finite: bool, training: bool = False) -> Tensor:
        """:meth:`forward_circuit`; ``check_finite``: reject NaN or inf inputs where the input scale
        shows them (abs-max noise management; :meth:`forward` checks them itself otherwise);
        ``training``: autograd records this read (a write follows it, so the weights will not be
        read again unchanged)."""
        return _circuit.forward_read(self, x, check_finite, training)

    def backward_circuit(self, d: Tensor) -> Tensor:
        """``d W`` (the transposed read) through the backward DAC/ADC: (..., out) -> (..., in)."""
        return _circuit.backward_read(self, d)

    def linear_reads(self) -> tuple[Callable[[Tensor], Tensor], Callable[[Tensor], Tensor], Callable[[], None]] | None:
        """``(forward, backward, flush)``: reads that reuse one read of the conductances, for a caller
        that reads the unchanged array many times (EP's relaxation sweeps). Only when every read of
        this tile is exactly the float product of what it holds: no DAC, ADC, output noise, read
        noise, IR drop or read time (drift), no noise management; otherwise ``None`` (each read
        must then go through the circuit). ``forward(x) = x W^T`` and ``backward(d) = d W`` (2-D)
        with ``W`` as read now; ``flush()`` counts every read made since in :attr:`cost`, as
        :meth:`forward_circuit` and :meth:`backward_circuit` count theirs (one record for all of
        them: the counters are sums). Valid until the next write; call ``flush`` before it."""
        return _circuit.linear_reads(self)

    def forward(self, x: Tensor) -> Tensor:
        g = self.array.g
        # with abs-max noise management the read's input scale finds NaN and inf at no extra cost
        finite_in_read = self.directions()[0].periphery.abs_max
        check_input(self.name, x, self.in_features, "input features", g.device, check_finite=not finite_in_read)
        if x.dtype != g.dtype:
            # The DAC digitises any float input; computing in the array's dtype avoids a deep dtype error.
            x = x.to(g.dtype)
        return TileMatmul.apply(x, self._grad_anchor, self, torch.is_grad_enabled())

    def record_update(self, x: Tensor, d: Tensor) -> None:
        self.pending = (x.detach(), d.detach())

    # --- writing (``_write``): pulses go through the mapping to the crossbar ---
    @property
    def dw_min(self) -> float:
        """Nominal weight change of one +1 weight pulse on a weight at zero (mean over devices)."""
        return self._nominal_step.get(self)

    @torch.no_grad()
    def write(self, pulses: Pulses) -> Tensor:
        """Apply a rule's :class:`Pulses` (dense counts or sparse events) through the mapping to the
        crossbar, where each pulse changes a conductance and is counted; returns the pulses applied."""
        return _write.write(self, pulses)

    @torch.no_grad()
    def apply_weight_pulses(self, n_w: Tensor) -> Tensor:
        """``write(Pulses.dense(n_w))``: signed per-weight pulse counts (out, in) in one write."""
        return _write.write_dense(self, n_w)

    @torch.no_grad()
    def apply_weight_pulse_events(self, w_index: Tensor, n: Tensor, lengths: list[int]) -> Tensor:
        """``write(Pulses.events(w_index, n, lengths))``: sparse weight pulses as consecutive writes:
        write ``k`` pulses the weights ``w_index`` (flat into (out, in), distinct within a write) of
        its ``lengths[k]`` events by the signed counts ``n``; same physics as one
        :meth:`apply_weight_pulses` per write, at a cost that grows with the pulsed weights only."""
        return _write.write_events(self, w_index, n, lengths)

    @torch.no_grad()
    def set_weights_exact(self, w: Tensor) -> None:
        """Write target conductances directly (no pulses, through ``Crossbar.set_conductances``):
        for tests and digital initialisation only."""
        g = _write.weight_targets(self, w)
        state = self.array.state
        self.array.set_conductances(torch.minimum(torch.maximum(g, state.g_min), state.g_max))

    @torch.no_grad()
    def program(self, w_target: Tensor) -> ProgramResult:
        """Program ``w_target`` (out, in) with the configured strategy (write-verify by default).

        Every pulse goes through ``Crossbar.apply_pulses`` (counted in :attr:`cost`). Returns the
        pulses, iterations and the RMS weight error of what the chip then holds."""
        g_target = _write.weight_targets(self, w_target)
        result = self.config.programmer.program(self.array, g_target, self.generator)
        err = float((self.weights() - w_target.to(self.w_scale)).square().mean().sqrt())
        return dataclasses.replace(result, weight_error=err)

    @property
    def cost(self) -> TileCost:
        """MVMs, conversions, pulses, energy (J) and latency (s) of everything this tile did."""
        return model_cost(self)
