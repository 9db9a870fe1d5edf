"""A tile's circuit reads: the forward (word lines driven) and backward (bit lines driven) MVMs
through the periphery pipeline, with per-array partial products, read noise and read-power counting."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import torch
from torch import Tensor

from memlearn.crossbar.ir_drop.tile_read import TiledLayer, ir_drop_backward_partials, ir_drop_forward_partials
from memlearn.crossbar.tiling import TilePartition, fast_int8_matmul
from memlearn.periphery.management import NonFiniteInput, operand
from memlearn.periphery.mvm import IDEAL_DAC, Partials, Periphery, analog_mvm
from memlearn.periphery.weight_read import ReadStatistics, add_output_read_noise_

if TYPE_CHECKING:
    from memlearn.nn.tile import AnalogTile
    from memlearn.nn.tile_config import TileConfig

INT8_MIN_BATCH = 64
"""Smallest batch whose forward read builds the int8 weight digits (see :func:`forward_read`)."""


def _read_power(u: Tensor, r: Tensor, scale: float, scratch: Tensor | None) -> Tensor:
    """``scale * sum_b sum_i u_bi^2 r_i``: the read power of levels ``u`` on lines of total
    conductance ``r`` (``scale``: squared volts per level)."""
    sq = torch.mul(u, u, out=scratch) if scratch is not None and scratch.shape == u.shape else u * u
    # Reductions rather than a BLAS product: BLAS picks kernels by alignment and thread count, so
    # the same numbers could sum differently in another process and break bit-identical reruns.
    return (sq.sum(0) * (r if r.dtype == u.dtype else r.to(u.dtype))).sum().mul_(operand(scale, u.dtype))


def _times(k: Tensor, q: float, out: Tensor | None = None) -> Tensor:
    """The DAC levels ``k * q`` as one tensor (``k`` itself when ``q == 1``; never modified),
    written into ``out`` when given (a reused buffer of ``k``'s shape)."""
    if q == 1.0:
        return k
    if out is not None and out.shape == k.shape:
        return torch.mul(k, operand(q, k.dtype), out=out)
    return k * operand(q, k.dtype)


def _rows(t: Tensor, n: int) -> Tensor:
    """``t`` as (vectors, n): itself when already 2-D (at small batch every operation counts)."""
    return t if t.dim() == 2 else t.reshape(-1, n)


def _square(u: Tensor, dtype: torch.dtype) -> Tensor:
    """``u**2`` in ``dtype`` (the input of the read-noise variance matmul)."""
    return (u * u).to(dtype) if dtype != u.dtype else u * u


@dataclass(frozen=True)
class Direction:
    """What one read direction (forward or backward) takes from the config, worked out once."""

    periphery: Periphery
    counts: dict
    """The ``MvmCounter.record`` arguments that do not change from pass to pass."""
    v_read: float
    """Full-scale read voltage (V) of the driving DAC (read power, IR drop)."""

    @property
    def v2(self) -> float:
        """Squared full-scale read voltage (V^2)."""
        return self.v_read ** 2


def directions(config: "TileConfig", in_features: int, out_features: int, part: TilePartition,
               cols: int) -> tuple[Direction, Direction]:
    """The forward (word lines driven) and backward (bit lines driven) read directions of ``config``."""
    c = config
    fwd = Direction(
        Periphery(c.dac, c.adc, c.noise_management, c.bound_management, c.output_noise),
        dict(n_inputs=in_features, n_outputs=out_features, n_arrays_per_output=part.n_row_chunks,
             dac_bits=c.dac.bits if c.dac else None, adc_bits=c.adc.bits if c.adc else None,
             columns_per_array=min(c.array_size[1], cols)),
        (c.dac or IDEAL_DAC).v_read)
    bwd = Direction(  # no bound management backward (aihwkit's default for the backward pass)
        Periphery(c.dac_backward, c.adc_backward, c.noise_management, None, c.output_noise_backward),
        dict(n_inputs=out_features, n_outputs=in_features, n_arrays_per_output=part.n_col_blocks,
             dac_bits=c.dac_backward.bits if c.dac_backward else None,
             adc_bits=c.adc_backward.bits if c.adc_backward else None,
             columns_per_array=min(c.array_size[0], in_features)),
        (c.dac_backward or IDEAL_DAC).v_read)
    return fwd, bwd


def _int8_forward(tile: "AnalogTile", noisy: bool, device: torch.device) -> bool:
    """Whether the forward read multiplies the DAC's integer levels by int8 weight digits (exact
    int32 products, :meth:`TilePartition.forward_partials_int8`) instead of float32: DAC of at most
    8 bits that clips, ideal wires, weights fixed per call (noiseless, ``"per_vector"`` or
    ``"moment_matched"``), a CPU with fast int8 matmuls and row chunks long enough to gain."""
    dac = tile.config.dac
    return (dac is not None and dac.bits is not None and dac.bits <= 8 and dac.clip and tile.config.ir_drop is None
            and (not noisy or tile.sampler.method != "gaussian")
            and fast_int8_matmul(device, min(tile.partition.array_rows, tile.in_features)))


def _tiled_layer(tile: "AnalogTile") -> TiledLayer:
    return TiledLayer(tile.config.ir_drop, tile.config.mapping, tile.partition, tile.in_features,
                      tile.out_features, tile._g_min, tile._g_max)


def _with_read_noise(tile: "AnalogTile", product: Partials, var: Tensor, transposed: bool) -> Partials:
    """``product`` plus per-vector read noise drawn in the output domain: partial outputs of levels
    ``k * q`` have variance ``q**2 (k^2) @ sigma^2``."""
    part, scratch = tile.partition, tile.scratch
    square = part.backward_partials if transposed else part.forward_partials

    def noisy(k: Tensor, q: float) -> Tensor:
        p = product(k, q)
        return add_output_read_noise_(p, square(_square(k, var.dtype), var), tile.generator,
                                      scratch.get("read_noise", tuple(p.shape), p), q)
    return noisy


def forward_read(tile: "AnalogTile", x: Tensor, check_finite: bool, training: bool = False) -> Tensor:
    """``y = W x`` through DAC, arrays and ADC: (..., in) -> (..., out); ``check_finite``: reject
    NaN or inf inputs where the input scale shows them (abs-max noise management); ``training``:
    autograd records the read (a write follows it)."""
    lead, x2 = x.shape[:-1], _rows(x, tile.in_features)
    stats = tile.read_cache.statistics(tile)
    # The int8 digits cost a few passes over the weights, once per write: worth it for large
    # batches whose weights are read again unchanged (inference: no autograd, or a repeated read),
    # not in training, where every step writes (measured: at batch 64 and 256 the float read is
    # 0.8 and 0.4 ms per step faster on a 784-256-128-10 MLP).
    reused = not training or tile.read_cache.reads > 1
    large = stats.int8 is not None or (x2.shape[0] >= INT8_MIN_BATCH and reused)
    if large and _int8_forward(tile, stats.std is not None, x2.device):
        stats = tile.read_cache.with_int8(stats, tile.out_features, tile.sampler.method == "moment_matched")
    fwd = tile.directions()[0]
    partials = _forward_partials(tile, stats, x2, fwd.v_read)
    counter, scratch = tile.counter, tile.scratch
    sq = scratch.get("square", x2.shape, x2)

    def record(u: Tensor, step: float) -> None:
        counter.record(n_vectors=u.shape[0], power=_read_power(u, stats.row_conductance, fwd.v2 * step**2, sq),
                       **fwd.counts)

    try:
        y = analog_mvm(x2, fwd.periphery, partials, tile.generator, record, scratch.get("levels", x2.shape, x2),
                       check_finite)
    except NonFiniteInput:
        raise ValueError(f"{tile.name}: input features contain NaN or inf") from None
    y = y.mul_(tile.w_scale)
    return y if x2 is x else y.reshape(*lead, tile.out_features)


def _forward_partials(tile: "AnalogTile", stats: ReadStatistics, x2: Tensor, v_read: float) -> Partials:
    """The forward read's per-array partial outputs of DAC levels ``(k, q)`` (see :data:`Partials`)."""
    part = tile.partition
    if tile.config.ir_drop is not None:
        g_read, layer = tile.array.conductances(tile.read_time, tile.generator), _tiled_layer(tile)
        return lambda k, q: ir_drop_forward_partials(layer, _times(k, q), g_read, v_read)
    w = None if stats.int8 is not None else tile.sampler.sample(stats, tile.generator)
    buf = tile.scratch.get("partials", (part.n_row_chunks, x2.shape[0], tile.out_features), x2)
    if w is None:  # integer DAC levels times int8 weight digits, exact int32 products
        w8 = tile.sampler.sample_int8(stats, tile.generator)
        product = lambda k, q: part.forward_partials_int8(k, q, w8, buf)
    else:
        scratch = tile.scratch
        product = lambda k, q: part.forward_partials(_times(k, q, scratch.get("times", tuple(k.shape), k)), w, buf)
    return product if stats.var is None else _with_read_noise(tile, product, stats.var, transposed=False)


def backward_read(tile: "AnalogTile", d: Tensor) -> Tensor:
    """``d W`` (the transposed read) through the backward DAC/ADC: (..., out) -> (..., in)."""
    lead, d2 = d.shape[:-1], _rows(d, tile.out_features) * tile.w_scale
    stats = tile.read_cache.statistics(tile)
    bwd = tile.directions()[1]
    partials = _backward_partials(tile, stats, bwd.v_read)
    counter = tile.counter

    def record(u: Tensor, step: float) -> None:
        counter.record(n_vectors=u.shape[0], power=_read_power(u, stats.col_conductance, bwd.v2 * step**2, None),
                       **bwd.counts)

    g = analog_mvm(d2, bwd.periphery, partials, tile.generator, record)
    return g if d.dim() == 2 else g.reshape(*lead, tile.in_features)


def _backward_partials(tile: "AnalogTile", stats: ReadStatistics, v_read: float) -> Partials:
    """The backward (transposed) read's per-array partial inputs of DAC levels ``(k, q)``."""
    part = tile.partition
    if tile.config.ir_drop is not None:
        g_read, layer = tile.array.conductances(tile.read_time, tile.generator), _tiled_layer(tile)
        return lambda k, q: ir_drop_backward_partials(layer, _times(k, q), g_read, v_read)
    w = tile.sampler.sample(stats, tile.generator)
    product = lambda k, q: part.backward_partials(_times(k, q), w)
    return product if stats.var is None else _with_read_noise(tile, product, stats.var, transposed=True)


def linear_reads(tile: "AnalogTile") -> tuple[Callable[[Tensor], Tensor], Callable[[Tensor], Tensor],
                                             Callable[[], None]] | None:
    """:meth:`AnalogTile.linear_reads`: ``(forward, backward, flush)`` multiplying by one read of
    the arrays, or ``None`` when a read of ``tile`` is not exactly the float product of what it holds."""
    c = tile.config
    if (c.dac is not None or c.adc is not None or c.dac_backward is not None or c.adc_backward is not None
            or c.output_noise > 0 or c.output_noise_backward > 0 or c.ir_drop is not None
            or c.noise_management != "none" or tile.read_time is not None or c.device.read_noise is not None):
        return None
    stats = tile.read_cache.statistics(tile)
    scale_key = (tile.w_scale._version, tile.w_scale.data_ptr())
    cache = tile.linear_cache
    if cache is None or cache[0] is not stats or cache[1] != scale_key:  # read again only after a change
        cache = tile.linear_cache = (stats, scale_key, stats.mean[:tile.in_features, :tile.out_features] * tile.w_scale)
    w = cache[2]  # (in, out)
    wt = w.T
    seen_fwd: list[Tensor] = []
    seen_bwd: list[Tensor] = []

    def forward(x: Tensor) -> Tensor:
        seen_fwd.append(x)
        return x @ w

    def backward(d: Tensor) -> Tensor:
        seen_bwd.append(d)
        return d @ wt

    def flush() -> None:
        fwd, bwd = tile.directions()
        for seen, r, direction, scale in ((seen_fwd, stats.row_conductance, fwd, None),
                                          (seen_bwd, stats.col_conductance, bwd, tile.w_scale)):
            if seen:
                u = torch.cat(seen) if len(seen) > 1 else seen[0]
                u = u if scale is None else u * scale
                tile.counter.record(n_vectors=u.shape[0], power=_read_power(u, r, direction.v2, None), **direction.counts)
                seen.clear()

    return forward, backward, flush
