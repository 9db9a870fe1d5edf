"""AnalogTile: a logical weight matrix held as conductances; forward = DAC -> crossbar -> ADC."""

from __future__ import annotations

import dataclasses
import math
import operator
from dataclasses import dataclass
from functools import partial

import torch
from torch import Tensor, nn

from memlearn.crossbar.cost import MvmCounter, TileCost, model_cost
from memlearn.crossbar.crossbar import Crossbar
from memlearn.crossbar.programming import ProgramResult
from memlearn.crossbar.tiling import Int8Weights, TilePartition, fast_int8_matmul
from memlearn.nn._analog_pass import Partials, Periphery, analog_mvm
from memlearn.nn._weight_read import ReadStatistics, WeightSampler, add_output_read_noise_, variance_dtype
from memlearn.nn.tile_config import TileConfig
from memlearn.periphery.dac import DAC
from memlearn.periphery.management import NonFiniteInput, operand

__all__ = ["AnalogTile", "TileConfig"]

_DEFAULT_DAC = DAC(bits=None)
"""Read voltage used for power accounting and IR drop when no DAC is configured (ideal inputs)."""


def _read_power(u: Tensor, r: Tensor, scale: float, scratch: Tensor | None) -> Tensor:
    """``scale * sum_b sum_i u_bi^2 r_i``: the read power of levels ``u`` on lines of total
    conductance ``r`` (``scale``: squared volts per level)."""
    sq = torch.mul(u, u, out=scratch) if scratch is not None and scratch.shape == u.shape else u * u
    # Reductions rather than a BLAS product: BLAS picks kernels by alignment and thread count, so
    # the same numbers could sum differently in another process and break bit-identical reruns.
    return (sq.sum(0) * (r if r.dtype == u.dtype else r.to(u.dtype))).sum().mul_(operand(scale, u.dtype))


def _times(k: Tensor, q: float) -> Tensor:
    """The DAC levels ``k * q`` as one tensor (``k`` itself when ``q == 1``; never modified)."""
    return k if q == 1.0 else k * operand(q, k.dtype)


def _rows(t: Tensor, n: int) -> Tensor:
    """``t`` as (vectors, n): itself when already 2-D (at small batch every operation counts)."""
    return t if t.dim() == 2 else t.reshape(-1, n)


def _square(u: Tensor, dtype: torch.dtype) -> Tensor:
    """``u**2`` in ``dtype`` (the input of the read-noise variance matmul)."""
    return (u * u).to(dtype) if dtype != u.dtype else u * u


_VERSION = operator.attrgetter("_version")

INT8_MIN_BATCH = 64
"""Smallest batch whose forward read builds the int8 weight digits (see ``forward_circuit``)."""


@dataclass(frozen=True)
class _Direction:
    """What one read direction (forward or backward) takes from the config, worked out once."""

    periphery: Periphery
    counts: dict
    """The ``MvmCounter.record`` arguments that do not change from pass to pass."""
    v2: float
    """Squared full-scale read voltage (V^2) of the driving DAC (read power)."""


def _directions(config: TileConfig, in_features: int, out_features: int, part: TilePartition,
                cols: int) -> tuple[_Direction, _Direction]:
    """The forward (word lines driven) and backward (bit lines driven) read directions of ``config``."""
    c = config
    fwd = _Direction(
        Periphery(c.dac, c.adc, c.noise_management, c.bound_management, c.output_noise),
        dict(n_inputs=in_features, n_outputs=out_features, n_arrays_per_output=part.n_row_chunks,
             dac_bits=c.dac.bits if c.dac else None, adc_bits=c.adc.bits if c.adc else None,
             columns_per_array=min(c.array_size[1], cols)),
        (c.dac or _DEFAULT_DAC).v_read ** 2)
    bwd = _Direction(  # no bound management backward (aihwkit's default for the backward pass)
        Periphery(c.dac_backward, c.adc_backward, c.noise_management, None, c.output_noise_backward),
        dict(n_inputs=out_features, n_outputs=in_features, n_arrays_per_output=part.n_col_blocks,
             dac_bits=c.dac_backward.bits if c.dac_backward else None,
             adc_bits=c.adc_backward.bits if c.adc_backward else None,
             columns_per_array=min(c.array_size[0], in_features)),
        (c.dac_backward or _DEFAULT_DAC).v_read ** 2)
    return fwd, bwd


class _TileMatmul(torch.autograd.Function):
    """Forward through the circuit; backward gives the transposed circuit MVM for the input
    gradient and records (x, d) on the tile as the pending update request."""

    @staticmethod
    def forward(ctx, x: Tensor, anchor: Tensor, tile: "AnalogTile") -> Tensor:
        ctx.tile = tile
        ctx.save_for_backward(x)
        return tile._forward_read(x, check_finite=True)

    @staticmethod
    def backward(ctx, d: Tensor):
        (x,) = ctx.saved_tensors
        tile: AnalogTile = ctx.tile
        tile.record_update(x, d)
        grad_x = tile.backward_circuit(d) if ctx.needs_input_grad[0] else None
        return grad_x, None, None


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
        self._cache: tuple[tuple, ReadStatistics] | None = None
        self._dw_cache: tuple[tuple, float] | None = None
        self._sampler = WeightSampler(self.config.read_noise_sampling)
        self._scratch_buffers: dict[str, Tensor] = {}
        self._stat_buffers: dict[str, Tensor] = {}
        self._direction_cache: tuple[TileConfig, tuple[_Direction, _Direction]] | None = None

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
        self._cache, self._dw_cache = None, None
        self._sampler.reset()
        self._scratch_buffers, self._stat_buffers = {}, {}
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

    def _read_key(self) -> tuple:
        """What the cached read statistics depend on: the read time and every array buffer (its
        in-place version and storage), so any write or state change invalidates them."""
        buffers = self.array._buffers.values()
        return (self.read_time, *map(_VERSION, buffers), *map(Tensor.data_ptr, buffers))

    def _read_statistics(self) -> ReadStatistics:
        key = self._read_key()
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        stats = self._build_read_statistics()
        self._cache = (key, stats)
        return stats

    def _build_read_statistics(self) -> ReadStatistics:
        """Drift-only read of the array (noise is drawn per MVM); the power sums follow lazily."""
        array, mapping, part = self.array, self.config.mapping, self.partition
        model = array.device_model
        noise = model.read_noise
        state = array.state if noise is not None or self.read_time is not None else None
        # without a read time nothing drifts: the conductances are read as programmed
        g = array.g if self.read_time is None else model.read(array.g, state, self.read_time, None)
        mean = self._padded_buffer("mean", g)
        if part.padded_in != self.in_features or part.padded_out != self.out_features:
            mapping.normalised(g, self._g_min, self._g_max, self.out_features,
                               out=mean[:self.in_features, :self.out_features])
        else:
            mapping.normalised(g, self._g_min, self._g_max, self.out_features, out=mean)
        std = None
        if noise is not None:
            std = part.pad_weights(mapping.normalised_std(noise.std(g, state.g_max), self.g_range,
                                                          self.out_features)).contiguous()
        var = None
        if std is not None and self._sampler.per_vector:  # cached low-precision sigma^2 for (u^2) @ sigma^2
            var = std.square().to(variance_dtype(std.device)).contiguous()
        return ReadStatistics(mean=mean, std=std, conductance=g,
                              column_sums=partial(mapping.column_sums, out_features=self.out_features), var=var)

    def _padded_buffer(self, name: str, like: Tensor) -> Tensor:
        """A zeroed (padded_in, padded_out) buffer in ``like``'s dtype and device, kept between
        rebuilds: the statistics are rewritten after every training step, and a fresh weight-sized
        tensor costs page faults on CPU. Only the (in, out) block is ever written; the padding stays 0."""
        part = self.partition
        b = self._stat_buffers.get(name)
        if b is None or b.dtype != like.dtype or b.device != like.device:
            b = self._stat_buffers[name] = torch.zeros((part.padded_in, part.padded_out), dtype=like.dtype,
                                                       device=like.device)
        return b

    def _with_int8(self, stats: ReadStatistics) -> ReadStatistics:
        """``stats`` with the int8 weight digits of the integer-level forward read, built on first
        use and kept with the statistics (until the next write or read-time change)."""
        if stats.int8 is not None:
            return stats
        n = self.out_features
        mean, std = stats.mean[:, :n], None if stats.std is None else stats.std[:, :n]
        int8_pm = None
        if std is not None and self._sampler.method == "moment_matched":
            int8_pm = Int8Weights.split(mean - std, mean + std)
        stats = dataclasses.replace(stats, int8=Int8Weights.split(mean)[0], int8_pm=int8_pm)
        self._cache = (self._cache[0], stats)
        return stats

    def _int8_forward(self, noisy: bool, device: torch.device) -> bool:
        """Whether the forward read multiplies the DAC's integer levels by int8 weight digits (exact
        int32 products, :meth:`TilePartition.forward_partials_int8`) instead of float32: DAC of at most
        8 bits that clips, ideal wires, weights fixed per call (noiseless, ``"per_vector"`` or
        ``"moment_matched"``), a CPU with fast int8 matmuls and row chunks long enough to gain."""
        dac = self.config.dac
        return (dac is not None and dac.bits is not None and dac.bits <= 8 and dac.clip and self.config.ir_drop is None
                and (not noisy or self._sampler.method != "gaussian")
                and fast_int8_matmul(device, min(self.partition.array_rows, self.in_features)))

    def _scratch(self, name: str, shape: tuple[int, ...], like: Tensor) -> Tensor | None:
        """A reused work buffer (never handed out): large fresh tensors cost page faults on CPU."""
        if like.requires_grad or torch.is_grad_enabled():
            return None
        b = self._scratch_buffers.get(name)
        if b is None or b.shape != tuple(shape) or b.dtype != like.dtype or b.device != like.device:
            b = self._scratch_buffers[name] = torch.empty(shape, dtype=like.dtype, device=like.device)
        return b

    def _sample_weights(self, stats: ReadStatistics) -> Tensor:
        """Normalised weights (padded) as one read sees them (read noise drawn now; the noiseless
        mean for ``read_noise_sampling="per_vector"``, whose noise :meth:`_add_read_noise` adds)."""
        return self._sampler.sample(stats, self.generator)

    def _add_read_noise(self, p: Tensor, var: Tensor, q: float = 1.0) -> Tensor:
        """Per-vector read noise on partial outputs ``p`` of levels ``k * q`` whose variance is
        ``q**2 * var``, ``var = (k^2) @ sigma^2``."""
        return add_output_read_noise_(p, var, self.generator, self._scratch("read_noise", tuple(p.shape), p), q)

    # --- the circuit ---
    def _check_input(self, x: Tensor, n: int, what: str, device: torch.device, check_finite: bool = True) -> None:
        if not isinstance(x, Tensor):
            raise TypeError(f"{self.name}: {what} must be a torch.Tensor, got {type(x).__name__}")
        if not x.is_floating_point():
            raise TypeError(f"{self.name}: {what} must be a floating-point tensor, got dtype {x.dtype}")
        if x.dim() == 0:
            raise ValueError(f"{self.name}: expected {n} {what} (last dimension), got a 0-d tensor")
        if x.device != device:
            raise ValueError(f"{self.name}: {what} are on {x.device} but the tile lives on {device}; "
                             f"move one of them (model.to(device) or x.to(device))")
        if x.shape[-1] != n:
            raise ValueError(f"{self.name}: expected {n} {what} (last dimension), got {x.shape[-1]} "
                             f"(input shape {tuple(x.shape)})")
        # a finite sum proves every entry finite (one cheap reduction); otherwise check exactly
        if check_finite and not math.isfinite(float(x.detach().sum())) and not bool(torch.isfinite(x).all()):
            raise ValueError(f"{self.name}: {what} contain NaN or inf")

    def _directions(self) -> tuple[_Direction, _Direction]:
        """Forward and backward read directions of the current config (worked out once per config)."""
        cache = self._direction_cache
        if cache is None or cache[0] is not self.config:
            dirs = _directions(self.config, self.in_features, self.out_features, self.partition, self.array.cols)
            cache = self._direction_cache = (self.config, dirs)
        return cache[1]

    def forward_circuit(self, x: Tensor) -> Tensor:
        """``y = W x`` through DAC, arrays and ADC: (..., in) -> (..., out)."""
        return self._forward_read(x, check_finite=False)

    def _forward_read(self, x: Tensor, check_finite: bool) -> Tensor:
        """:meth:`forward_circuit`; ``check_finite``: reject NaN or inf inputs where the input scale
        shows them (abs-max noise management; :meth:`forward` checks them itself otherwise)."""
        lead, x2 = x.shape[:-1], _rows(x, self.in_features)
        stats = self._read_statistics()
        # The int8 digits cost a few passes over the weights, once per write: worth it for large
        # batches and for repeated reads of unchanged weights (inference), not for a small
        # training batch whose weights change at every step.
        large = stats.int8 is not None or x2.shape[0] >= INT8_MIN_BATCH
        if large and self._int8_forward(stats.std is not None, x2.device):
            stats = self._with_int8(stats)
        partials = self._forward_partials(stats, x2)
        fwd, counter = self._directions()[0], self.counter
        sq = self._scratch("square", x2.shape, x2)

        def record(u: Tensor, step: float) -> None:
            counter.record(n_vectors=u.shape[0], power=_read_power(u, stats.row_conductance, fwd.v2 * step**2, sq),
                           **fwd.counts)

        try:
            y = analog_mvm(x2, fwd.periphery, partials, self.generator, record, self._scratch("levels", x2.shape, x2),
                           check_finite)
        except NonFiniteInput:
            raise ValueError(f"{self.name}: input features contain NaN or inf") from None
        y = y.mul_(self.w_scale)
        return y if x2 is x else y.reshape(*lead, self.out_features)

    def _forward_partials(self, stats: ReadStatistics, x2: Tensor) -> Partials:
        """The forward read's per-array partial outputs of DAC levels ``(k, q)`` (see :data:`Partials`)."""
        part = self.partition
        if self.config.ir_drop is not None:
            from memlearn.nn._ir_drop_read import ir_drop_forward_partials
            g_read = self.array.conductances(self.read_time, self.generator)
            return lambda k, q: ir_drop_forward_partials(self, _times(k, q), g_read)
        w = None if stats.int8 is not None else self._sample_weights(stats)
        buf = self._scratch("partials", (part.n_row_chunks, x2.shape[0], self.out_features), x2)
        if w is None:  # integer DAC levels times int8 weight digits, exact int32 products
            w8 = self._sampler.sample_int8(stats, self.generator)
            product = lambda k, q: part.forward_partials_int8(k, q, w8, buf)
        else:
            product = lambda k, q: part.forward_partials(_times(k, q), w, buf)
        if stats.var is None:
            return product
        # read noise drawn for every input vector, exactly, in the output domain
        return lambda k, q: self._add_read_noise(product(k, q), part.forward_partials(_square(k, stats.var.dtype),
                                                                                      stats.var), q)

    def backward_circuit(self, d: Tensor) -> Tensor:
        """``d W`` (the transposed read) through the backward DAC/ADC: (..., out) -> (..., in)."""
        lead, d2 = d.shape[:-1], _rows(d, self.out_features) * self.w_scale
        stats = self._read_statistics()
        partials = self._backward_partials(stats)
        bwd, counter = self._directions()[1], self.counter

        def record(u: Tensor, step: float) -> None:
            counter.record(n_vectors=u.shape[0], power=_read_power(u, stats.col_conductance, bwd.v2 * step**2, None),
                           **bwd.counts)

        g = analog_mvm(d2, bwd.periphery, partials, self.generator, record)
        return g if d.dim() == 2 else g.reshape(*lead, self.in_features)

    def _backward_partials(self, stats: ReadStatistics) -> Partials:
        """The backward (transposed) read's per-array partial inputs of DAC levels ``(k, q)``."""
        part = self.partition
        if self.config.ir_drop is not None:
            from memlearn.nn._ir_drop_read import ir_drop_backward_partials
            g_read = self.array.conductances(self.read_time, self.generator)
            return lambda k, q: ir_drop_backward_partials(self, _times(k, q), g_read)
        w = self._sample_weights(stats)
        if stats.var is not None:
            return lambda k, q: self._add_read_noise(part.backward_partials(_times(k, q), w),
                                                     part.backward_partials(_square(k, stats.var.dtype), stats.var), q)
        return lambda k, q: part.backward_partials(_times(k, q), w)

    def forward(self, x: Tensor) -> Tensor:
        g = self.array.g
        # with abs-max noise management the read's input scale finds NaN and inf at no extra cost
        finite_in_read = self._directions()[0].periphery.abs_max
        self._check_input(x, self.in_features, "input features", g.device, check_finite=not finite_in_read)
        if x.dtype != g.dtype:
            # The DAC digitises any float input; computing in the array's dtype avoids a deep dtype error.
            x = x.to(g.dtype)
        return _TileMatmul.apply(x, self._grad_anchor, self)

    def record_update(self, x: Tensor, d: Tensor) -> None:
        self.pending = (x.detach(), d.detach())

    # --- writing ---
    @property
    def dw_min(self) -> float:
        """Nominal weight change of one +1 weight pulse on a weight at zero (mean over devices)."""
        key = tuple((b.data_ptr(), b._version) for b in self.array.buffers(recurse=False) if b is not self.array.g
                    and b is not self.array.n_writes) + ((self.w_scale.data_ptr(), self.w_scale._version),)
        if self._dw_cache is not None and self._dw_cache[0] == key:
            return self._dw_cache[1]
        state = self.array.state
        response = self.config.device.response
        mid = (state.g_min + state.g_max) / 2
        up = float(response.step_at(mid, state.params, up=True).abs().mean())
        down = float(response.step_at(mid, state.params, up=False).abs().mean())
        value = float(self.w_scale.mean()) * self.config.mapping.pulse_weight_change(up, down, self.g_range)
        self._dw_cache = (key, value)
        return value

    @torch.no_grad()
    def apply_weight_pulses(self, n_w: Tensor) -> Tensor:
        """Apply signed per-weight pulse counts (out, in) through the mapping; returns pulses applied."""
        if n_w.shape != (self.out_features, self.in_features):
            raise ValueError(f"pulse counts have shape {tuple(n_w.shape)}, tile is {(self.out_features, self.in_features)}")
        return self.array.apply_pulses(self.config.mapping.device_pulses(n_w), self.generator)

    @torch.no_grad()
    def apply_weight_pulse_events(self, w_index: Tensor, n: Tensor, lengths: list[int]) -> Tensor:
        """Apply sparse weight pulses as consecutive writes: write ``k`` pulses the weights
        ``w_index`` (flat into (out, in), distinct within a write) of its ``lengths[k]`` events by
        the signed counts ``n``; same physics as one :meth:`apply_weight_pulses` per write, at a
        cost that grows with the pulsed weights only. Returns the pulses applied."""
        if w_index.dtype not in (torch.int64, torch.int32) or w_index.ndim != 1:
            raise TypeError(f"{self.name}: weight indices must be a 1-D int64 tensor, got {w_index.dtype} "
                            f"of shape {tuple(w_index.shape)}")
        w_index = w_index.long()
        if w_index.numel() and not (0 <= int(w_index.min()) and int(w_index.max()) < self.out_features * self.in_features):
            raise ValueError(f"weight indices must lie in [0, {self.out_features * self.in_features})")
        index, sign = self._device_event_table()
        k = index.shape[1]
        # a 1-D gather is ~6x faster than the row gather of a (weights, 1) table
        index = index.view(-1).index_select(0, w_index) if k == 1 else index.index_select(0, w_index).view(-1)
        counts = n.repeat_interleave(k) if k > 1 else n
        if sign is not None:
            counts = counts * sign.index_select(0, w_index).view(-1)
        return self.array.apply_pulse_sequence(index, counts, [k * length for length in lengths], self.generator)

    def _device_event_table(self) -> tuple[Tensor, Tensor | None]:
        """The mapping's device events of every weight, built once: ``index`` (weights, k) devices
        of each weight and ``sign`` (weights, k) the sign of their pulses relative to the weight's
        (None when all are +1). One gather per event then replaces the index arithmetic."""
        device = self.array.g.device
        table = getattr(self, "_event_table", None)
        if table is None or table[0].device != device:
            n_weights = self.out_features * self.in_features
            index, sign, k = self.config.mapping.device_events(
                torch.arange(n_weights, device=device), torch.ones(n_weights, dtype=torch.int32, device=device),
                self.out_features, self.in_features)
            sign = sign.view(n_weights, k).to(torch.int32)
            table = self._event_table = (index.view(n_weights, k), None if bool((sign == 1).all()) else sign)
        return table

    def _targets(self, w: Tensor) -> Tensor:
        """Set the weight scale for ``w`` (out, in) and return its target conductances."""
        if w.shape != (self.out_features, self.in_features):
            raise ValueError(f"{self.name}: weights have shape {tuple(w.shape)}, tile is {(self.out_features, self.in_features)}")
        mapping = self.config.mapping
        w = w.detach().to(self.array.g)
        if mapping.scale == "column":
            scale = w.abs().amax(dim=1)
        elif mapping.scale == "tile":
            scale = w.abs().amax().expand(self.out_features)
        else:
            scale = torch.full_like(self.w_scale, mapping.w_max)
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))
        self.w_scale.copy_(scale)
        return mapping.targets(w / scale[:, None], self._g_min, self._g_max)

    @torch.no_grad()
    def set_weights_exact(self, w: Tensor) -> None:
        """Write target conductances directly (no pulses): for tests and digital initialisation only."""
        g = self._targets(w)
        state = self.array.state
        g = torch.minimum(torch.maximum(g, state.g_min), state.g_max)
        self.array.g.copy_(torch.where(state.fault == 0, g, self.array.g))

    @torch.no_grad()
    def program(self, w_target: Tensor) -> ProgramResult:
        """Program ``w_target`` (out, in) with the configured strategy (write-verify by default).

        Every pulse goes through ``Crossbar.apply_pulses`` (counted in :attr:`cost`). Returns the
        pulses, iterations and the RMS weight error of what the chip then holds."""
        g_target = self._targets(w_target)
        result = self.config.programmer.program(self.array, g_target, self.generator)
        err = float((self.weights() - w_target.to(self.w_scale)).square().mean().sqrt())
        return dataclasses.replace(result, weight_error=err)

    @property
    def cost(self) -> TileCost:
        """MVMs, conversions, pulses, energy (J) and latency (s) of everything this tile did."""
        return model_cost(self)

