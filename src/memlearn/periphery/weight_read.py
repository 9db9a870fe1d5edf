"""One read of a tile's weights: cached drift-only statistics plus read noise drawn per MVM.

Three ways to draw the devices' read noise (``TileConfig.read_noise_sampling``):

* ``"per_vector"``: a fresh draw for every input vector, computed exactly in the output domain.
  With independent Gaussian ``e_ij`` the column output ``sum_i (w_ij + e_ij) u_i`` is exactly
  ``N(sum_i w_ij u_i, sum_i u_i^2 sigma_ij^2)``, so a second, low-precision matmul
  ``(u^2) @ sigma^2`` (bfloat16 where the hardware has fast bfloat16 matmuls) and one Gaussian per
  partial output replace the per-device draw. Every vector of a batch sees its own read.
* ``"gaussian"``: one Gaussian draw per weight per MVM call, shared by the vectors of the call.
* ``"moment_matched"``: like ``"gaussian"`` but every weight reads ``mean +- std`` with a random
  sign (1 random bit per weight): the same mean and variance, so every column output has the
  same mean and covariance and is Gaussian up to O(1/rows) higher cumulants.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import torch
from torch import Tensor

from memlearn.crossbar.tiling import Int8Weights

READ_NOISE_SAMPLING = ("gaussian", "per_vector", "moment_matched")
"""Allowed values of ``TileConfig.read_noise_sampling``."""

_LOW_BITS = 0x0101010101010101
"""The lowest bit of each byte of an int64 word."""
_BYTE_SHIFTS: dict[torch.device, Tensor] = {}


@dataclass(frozen=True)
class ReadStatistics:
    """What a read of the (unchanged) array looks like, cached until the array is written."""

    mean: Tensor
    """Normalised weights after drift, padded for tiling (padded_in, padded_out)."""
    std: Tensor | None
    """Std of the normalised weights' read noise, same shape; None without read noise."""
    conductance: Tensor
    """Conductances as read without noise (drift only), (in, n_columns), S: what the power sums add up."""
    column_sums: Callable[[Tensor], Tensor]
    """Total conductance per output of a conductance matrix (the mapping's ``column_sums``)."""
    var: Tensor | None = None
    """``std**2`` in :func:`variance_dtype` for the per-vector output-domain draw; None otherwise."""
    int8: Int8Weights | None = None
    """``mean`` (unpadded outputs) as int8 digits for the integer-level forward read; None when off."""
    int8_pm: tuple[Int8Weights, Int8Weights] | None = None
    """``mean - std`` and ``mean + std`` as int8 digits with one scale (``"moment_matched"``)."""

    # Summed on first use, not at every rebuild (a layer whose input needs no gradient never reads
    # backward); valid as long as the statistics are: the tile drops them at the next write.
    @cached_property
    def row_conductance(self) -> Tensor:
        """Total conductance per word line (in,), S."""
        return self.conductance.sum(1)

    @cached_property
    def col_conductance(self) -> Tensor:
        """Total conductance per output (out,), S."""
        return self.column_sums(self.conductance)


def variance_dtype(device: torch.device) -> torch.dtype:
    """dtype of the read-noise variance matmul: bfloat16 (~0.4% relative error, far below what a
    variance needs) where bfloat16 matmuls are fast (CUDA; CPUs with AVX-512/AMX through
    oneDNN), float32 elsewhere."""
    if device.type == "cuda":
        return torch.bfloat16
    if device.type == "cpu":
        try:
            return torch.bfloat16 if torch.ops.mkldnn._is_mkldnn_bf16_supported() else torch.float32
        except (AttributeError, RuntimeError):
            return torch.float32
    return torch.float32


def random_bits(n: int, generator: torch.Generator, device: torch.device) -> Tensor:
    """``n`` independent fair bits, int8 0 or 1 (random 64-bit words spread one bit per byte).

    int8 rather than bool: converting bool to float is several times slower on CPU."""
    words = torch.empty(-(-n // 64), dtype=torch.int64, device=device)
    words.random_(-(2**63), None, generator=generator)  # full 64-bit range: 64 uniform bits
    shifts = _BYTE_SHIFTS.get(device)
    if shifts is None:
        shifts = _BYTE_SHIFTS[device] = torch.arange(8, dtype=torch.int64, device=device)
    bytes_ = (words.unsqueeze(1) >> shifts).bitwise_and_(_LOW_BITS)  # every byte 0 or 1
    return bytes_.view(-1).view(torch.int8)[:n]


class WeightSampler:
    """Draws the normalised weights one MVM call sees (``"gaussian"``, ``"moment_matched"``); for
    ``"per_vector"`` the weights are the noiseless mean and :func:`add_output_read_noise_` adds
    the noise to the partial outputs.

    The two devices of a differential pair read with independent Gaussian noise, so their
    difference is Gaussian with the summed variance: one draw per weight instead of one per device,
    into a reused buffer.
    """

    def __init__(self, method: str) -> None:
        if method not in READ_NOISE_SAMPLING:
            raise ValueError(f"read_noise_sampling={method!r} must be one of {READ_NOISE_SAMPLING}")
        self.method = method
        self._buf: Tensor | None = None
        self._mm: tuple[ReadStatistics, Tensor, Tensor] | None = None

    @property
    def per_vector(self) -> bool:
        return self.method == "per_vector"

    def reset(self) -> None:
        self._buf, self._mm = None, None

    def _buffer(self, like: Tensor) -> Tensor:
        b = self._buf
        if b is None or b.shape != like.shape or b.device != like.device or b.dtype != like.dtype:
            b = self._buf = torch.empty_like(like)
        return b

    def sample(self, stats: ReadStatistics, generator: torch.Generator) -> Tensor:
        if stats.std is None or self.method == "per_vector":
            return stats.mean
        buf = self._buffer(stats.mean)
        if self.method == "gaussian":
            torch.randn(buf.shape, generator=generator, out=buf)
            return torch.addcmul(stats.mean, stats.std, buf, out=buf)
        if self._mm is None or self._mm[0] is not stats:
            self._mm = (stats, stats.mean - stats.std, 2.0 * stats.std)
        _, low, span = self._mm
        buf.copy_(random_bits(buf.numel(), generator, buf.device).view(buf.shape))  # 0 or 1
        return torch.addcmul(low, span, buf, out=buf)  # mean - std or mean + std

    def sample_int8(self, stats: ReadStatistics, generator: torch.Generator) -> Int8Weights:
        """:meth:`sample` as int8 digits (``stats.int8`` set; ``stats.int8_pm`` too for
        ``"moment_matched"`` with read noise): the same draws from the generator."""
        if stats.std is None or self.method == "per_vector":
            return stats.int8
        if self.method != "moment_matched" or stats.int8_pm is None:
            raise ValueError(f"no int8 read for read_noise_sampling={self.method!r}")
        low, high = stats.int8_pm
        if self._mm is None or self._mm[0] is not stats:  # low ^ high, cached per statistics
            self._mm = (stats, torch.bitwise_xor(low.digits, high.digits), None)
        diff = self._mm[1]
        # as many bits as sample() draws (same generator stream); padded columns dropped
        n = low.scale.shape[0]
        bits = random_bits(stats.mean.numel(), generator, diff.device).view(stats.mean.shape)[:, :n]
        # low ^ (bits * (low ^ high)) per digit: torch.where on int8 is ~20x slower on CPU
        digits = torch.mul(diff.view(-1, 2, n), bits.unsqueeze(1)).view(-1, 2 * n).bitwise_xor_(low.digits)
        return Int8Weights(digits=digits, scale=low.scale)


def add_output_read_noise_(p: Tensor, var: Tensor, generator: torch.Generator, scratch: Tensor | None = None,
                           scale: float = 1.0) -> Tensor:
    """``p += scale * sqrt(var) * xi`` in place, ``xi ~ N(0, 1)`` per element: the per-vector read
    noise of partial outputs ``p`` whose noise variance ``scale**2 * var`` (``var`` any float dtype,
    same shape) is ``(u^2) @ sigma^2``. ``scratch``: optional float buffer of ``p``'s shape for the draw."""
    if scratch is not None and scratch.shape == p.shape and scratch.dtype == p.dtype:
        z = scratch.normal_(generator=generator)
    else:
        z = torch.randn(p.shape, generator=generator, device=p.device, dtype=p.dtype)
    std = var.clamp_(min=0).sqrt_()  # bfloat16 rounding cannot make a sum of squares negative, but be safe
    return p.addcmul_(z, std if std.dtype == p.dtype else std.to(p.dtype), value=scale)
