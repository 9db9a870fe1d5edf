"""A logical weight matrix over several physical arrays: the partition and the partial MVMs.

The devices of all physical arrays of one tile live in one conductance buffer (in, n_columns),
so device physics and pulsed updates stay one vectorised call; this module says which rows and
outputs each physical array holds and computes each array's partial outputs, which the tile
digitises separately (one ADC conversion per array and column) and sums digitally, as in
ISAAC (Shafiee et al., ISCA 2016) and NeuroSim (Chen et al., IEEE TCAD 2018).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import torch
from torch import Tensor

INT8_RADIX = 256
"""Weight of the high digit in :class:`Int8Weights` (``w = (INT8_RADIX * hi + lo) * scale``)."""
INT8_FULL_SCALE = 127 * INT8_RADIX
"""Largest ``|INT8_RADIX * hi + lo|``: a column's largest weight maps to it."""


def fast_int8_matmul(device: torch.device, rows: int) -> bool:
    """Whether ``torch._int_mm`` (int8 x int8 -> exact int32) beats float32 for row chunks of
    ``rows`` word lines: CPUs with AVX-512 VNNI/AMX (detected through oneDNN's bfloat16 support,
    which implies them) and ``rows >= 512`` (measured, 1024x1024 at batch 256, one thread: 1024-row
    chunks ~0.7x the float32 time, 256-row chunks ~1.2x, per-call weight packing and the digit
    combination dominating). CUDA and other devices keep the float32 path."""
    if device.type != "cpu" or rows < 512:
        return False
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()) and hasattr(torch, "_int_mm")
    except (AttributeError, RuntimeError):
        return False


@dataclass(frozen=True)
class Int8Weights:
    """Weights (rows, out) as two int8 digits and a per-output scale: ``w ~ (256 hi + lo) * scale``.

    ``scale = max_i |w_i| / 32512`` per output, so the representation error of every weight is at
    most ``scale / 2 = max_i |w_i| / 65024`` (15.99 bits relative to the column's largest weight)."""

    digits: Tensor
    """``[hi | lo]`` (rows, 2 out), int8: high digit in [-127, 127], low digit in [-128, 127]."""
    scale: Tensor
    """Per-output scale (out,), float32."""

    @staticmethod
    def split(*ws: Tensor) -> tuple["Int8Weights", ...]:
        """Digits of one or more same-shape float matrices (rows, out) with one common per-output scale."""
        top = ws[0].abs().amax(dim=0)
        for w in ws[1:]:
            top = torch.maximum(top, w.abs().amax(dim=0))
        scale = torch.where(top > 0, top, torch.ones_like(top)) / INT8_FULL_SCALE
        out = []
        for w in ws:
            q = (w / scale).round_()
            hi = torch.floor((q + INT8_RADIX // 2) / INT8_RADIX)
            lo = q.sub_(hi * INT8_RADIX)
            out.append(Int8Weights(digits=torch.cat([hi, lo], dim=1).to(torch.int8), scale=scale.to(torch.float32)))
        return tuple(out)


@dataclass(frozen=True, kw_only=True)
class TilePartition:
    """Row chunks and output blocks of a (in, out) matrix on arrays of ``array_rows`` word lines
    and ``outputs_per_array`` outputs each."""

    in_features: int
    """Logical inputs (word lines in total)."""
    out_features: int
    """Logical outputs."""
    array_rows: int
    """Word lines per physical array."""
    outputs_per_array: int
    """Outputs per physical array (bit lines per array divided by the mapping's columns per output)."""

    def __post_init__(self) -> None:
        for name in ("in_features", "out_features", "array_rows", "outputs_per_array"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name}={getattr(self, name)!r} must be >= 1")

    @cached_property  # read several times per MVM; the partition never changes
    def n_row_chunks(self) -> int:
        return math.ceil(self.in_features / self.array_rows)

    @cached_property
    def n_col_blocks(self) -> int:
        return math.ceil(self.out_features / self.outputs_per_array)

    @cached_property
    def n_arrays(self) -> int:
        return self.n_row_chunks * self.n_col_blocks

    @cached_property
    def padded_in(self) -> int:
        return self.n_row_chunks * self.array_rows if self.n_row_chunks > 1 else self.in_features

    @cached_property
    def padded_out(self) -> int:
        return self.n_col_blocks * self.outputs_per_array if self.n_col_blocks > 1 else self.out_features

    def row_chunks(self) -> list[tuple[int, int]]:
        r = self.array_rows
        return [(i, min(i + r, self.in_features)) for i in range(0, self.in_features, r)]

    def col_blocks(self) -> list[tuple[int, int]]:
        c = self.outputs_per_array
        return [(j, min(j + c, self.out_features)) for j in range(0, self.out_features, c)]

    def pad_weights(self, w: Tensor) -> Tensor:
        """Zero-pad normalised weights (in, out) to (padded_in, padded_out) (a no-op when aligned)."""
        pi, po = self.padded_in - self.in_features, self.padded_out - self.out_features
        if pi == 0 and po == 0:
            return w
        return torch.nn.functional.pad(w, (0, po, 0, pi))

    def forward_partials(self, u: Tensor, w: Tensor, out: Tensor | None = None) -> Tensor:
        """Per-row-chunk partial outputs (n_row_chunks, batch, out) of ``u @ w``.

        ``u``: (batch, in) DAC levels; ``w``: padded normalised weights (padded_in, padded_out);
        ``out``: optional result buffer, used when there is more than one row chunk (a single
        chunk always returns a fresh tensor, so a caller may hand its slice out).
        """
        w = w[:, : self.out_features] if self.padded_out != self.out_features else w
        t = self.n_row_chunks
        if t == 1:
            return (u @ w).unsqueeze(0)
        if self.padded_in != self.in_features:
            u = torch.nn.functional.pad(u, (0, self.padded_in - self.in_features))
        u3 = u.view(u.shape[0], t, self.array_rows).transpose(0, 1)
        w3 = w.view(t, self.array_rows, w.shape[-1])
        if out is not None and out.shape == (t, u.shape[0], w.shape[-1]) and out.dtype == u.dtype:
            return torch.bmm(u3, w3, out=out)
        return torch.bmm(u3, w3)

    def forward_partials_int8(self, k: Tensor, q: float, w: Int8Weights, out: Tensor | None = None) -> Tensor:
        """:meth:`forward_partials` (same buffer rule) of ``(k * q) @ w`` with integer levels ``k`` (|k| <= 127, any
        dtype) and int8 weight digits ``w`` (padded_in, out_features): two exact int8 x int8 -> int32
        products per row chunk, combined in float32 with the per-output scale. Deviates from the
        float product by at most ``q * sum_i |k_i| * max_i |w_i| / 65024`` per partial output (the
        digit representation error), plus float32 rounding."""
        t, r, n = self.n_row_chunks, self.array_rows, self.out_features
        k8 = k.to(torch.int8)
        if self.padded_in != self.in_features:
            k8 = torch.nn.functional.pad(k8, (0, self.padded_in - self.in_features))
        b = k8.shape[0]
        acc = torch.empty((t, b, 2 * n), dtype=torch.int32, device=k8.device)
        for c in range(t):  # one int8 GEMM per row chunk for both digits
            torch._int_mm(k8[:, c * r:(c + 1) * r], w.digits[c * r:(c + 1) * r], out=acc[c])
        hi, lo = acc[..., :n], acc[..., n:]
        f = w.scale * q
        if t == 1 or out is None or out.shape != (t, b, n) or out.dtype != f.dtype:  # t == 1: fresh, as above
            out = torch.empty((t, b, n), dtype=f.dtype, device=f.device)
        if r * 127 * 127 * (INT8_RADIX + 1) < 2**31:  # the digits combine exactly in int32
            out.copy_(torch.add(lo, hi, alpha=INT8_RADIX))
            return out.mul_(f)
        out.copy_(hi).mul_(f * INT8_RADIX)
        return out.add_(lo.to(f.dtype).mul_(f))

    def backward_partials(self, d: Tensor, w: Tensor) -> Tensor:
        """Per-output-block partial inputs (n_col_blocks, batch, in) of ``d @ w.T``.

        ``d``: (batch, out) DAC levels on the bit lines; ``w`` as in :meth:`forward_partials`.
        """
        w = w[: self.in_features] if self.padded_in != self.in_features else w
        c = self.n_col_blocks
        if c == 1:
            return (d @ w.T).unsqueeze(0)
        if self.padded_out != self.out_features:
            d = torch.nn.functional.pad(d, (0, self.padded_out - self.out_features))
        d3 = d.view(d.shape[0], c, self.outputs_per_array).transpose(0, 1)
        w3 = w.view(w.shape[0], c, self.outputs_per_array).permute(1, 2, 0)
        return torch.bmm(d3, w3)
