"""One read of a tile's weights: cached drift-only statistics plus read noise drawn per MVM call."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

READ_NOISE_SAMPLING = ("gaussian", "moment_matched")
"""Allowed values of ``TileConfig.read_noise_sampling``."""

_BYTE_STD = math.sqrt((256.0**2 - 1.0) / 12.0)
"""Std of a uniform random byte in {-128, ..., 127} (its mean is -1/2)."""


@dataclass(frozen=True)
class ReadStatistics:
    """What a read of the (unchanged) array looks like, cached until the array is written."""

    mean: Tensor
    """Normalised weights after drift, padded for tiling (padded_in, padded_out)."""
    std: Tensor | None
    """Std of the normalised weights' read noise, same shape; None without read noise."""
    row_conductance: Tensor
    """Total conductance per word line (in,), S."""
    col_conductance: Tensor
    """Total conductance per output (out,), S."""


class WeightSampler:
    """Draws the normalised weights one MVM call sees: ``mean + std * xi``, one ``xi`` per weight.

    The two devices of a differential pair read with independent Gaussian noise, so their
    difference is Gaussian with the summed variance: one draw per weight instead of one per device,
    into a reused buffer. ``"gaussian"``: ``xi ~ N(0, 1)`` (exact). ``"moment_matched"``: ``xi``
    is a uniform random byte scaled to zero mean and unit variance (8 random bits per weight
    instead of a Gaussian draw, ~4x cheaper). The column output ``sum_i u_i (mean + std xi)_ij``
    then has exactly the same mean and covariance as with Gaussian noise and is Gaussian up to
    O(1/rows) higher cumulants (central limit theorem); single-device reads stay Gaussian.
    """

    def __init__(self, method: str) -> None:
        if method not in READ_NOISE_SAMPLING:
            raise ValueError(f"read_noise_sampling={method!r} must be one of {READ_NOISE_SAMPLING}")
        self.method = method
        self._buf: Tensor | None = None
        self._bits: Tensor | None = None
        self._mm: tuple[ReadStatistics, Tensor, Tensor] | None = None

    def reset(self) -> None:
        self._buf, self._bits, self._mm = None, None, None

    def _buffer(self, like: Tensor) -> Tensor:
        b = self._buf
        if b is None or b.shape != like.shape or b.device != like.device or b.dtype != like.dtype:
            b = self._buf = torch.empty_like(like)
        return b

    def sample(self, stats: ReadStatistics, generator: torch.Generator) -> Tensor:
        if stats.std is None:
            return stats.mean
        buf = self._buffer(stats.mean)
        if self.method == "gaussian":
            torch.randn(buf.shape, generator=generator, out=buf)
            return torch.addcmul(stats.mean, stats.std, buf, out=buf)
        if self._mm is None or self._mm[0] is not stats:
            scale = stats.std / _BYTE_STD
            self._mm = (stats, stats.mean + 0.5 * scale, scale)
        _, offset, scale = self._mm
        n_words = -(-buf.numel() // 8)
        if self._bits is None or self._bits.numel() != n_words or self._bits.device != buf.device:
            self._bits = torch.empty(n_words, dtype=torch.int64, device=buf.device)
        self._bits.random_(-(2**63), None, generator=generator)  # full 64-bit range: 8 uniform bytes
        buf.view(-1).copy_(self._bits.view(torch.int8)[: buf.numel()])
        return torch.addcmul(offset, scale, buf, out=buf)
