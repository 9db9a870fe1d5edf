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

import torch
from torch import Tensor


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

    @property
    def n_row_chunks(self) -> int:
        return math.ceil(self.in_features / self.array_rows)

    @property
    def n_col_blocks(self) -> int:
        return math.ceil(self.out_features / self.outputs_per_array)

    @property
    def n_arrays(self) -> int:
        return self.n_row_chunks * self.n_col_blocks

    @property
    def padded_in(self) -> int:
        return self.n_row_chunks * self.array_rows if self.n_row_chunks > 1 else self.in_features

    @property
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
