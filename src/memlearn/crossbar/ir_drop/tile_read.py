"""The IR-drop read of a tiled layer: every physical array solved with ``solve`` (the config's solver);
used by a tile's forward and backward reads whenever its ``TileConfig.ir_drop`` is set.

Nothing here knows the tile: it gets the mapping, the partition and the read voltage explicitly.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import Tensor

from memlearn.crossbar.ir_drop.solve import IRDropConfig, solve
from memlearn.crossbar.tiling import TilePartition


@dataclass(frozen=True)
class TiledLayer:
    """What the IR-drop read needs of a layer tiled over arrays."""

    config: IRDropConfig
    mapping: object
    """The weight-to-conductance mapping (``DifferentialMapping`` or ``ReferenceColumnMapping``)."""
    partition: TilePartition
    in_features: int
    out_features: int
    g_min: float
    g_max: float


def _solver(config: IRDropConfig, transposed: bool):
    """``currents = solve(g, v)`` for ``config`` (word and bit lines swapped when the read is
    transposed: the bit lines are driven, the word lines sensed)."""
    if transposed:
        config = dataclasses.replace(config, r_word_line=config.r_bit_line, r_bit_line=config.r_word_line,
                                     r_source=config.r_sense, r_sense=config.r_source)
    return lambda g, v: solve(config, g, v)


def ir_drop_forward_partials(layer: TiledLayer, u: Tensor, g: Tensor, v_read: float) -> Tensor:
    """Normalised partial outputs (n_row_chunks, batch, out) with IR drop in every array.

    ``u``: DAC levels (batch, in); ``g``: conductances as read (in, n_columns), S; ``v_read``: the
    full-scale read voltage (V). Each array is solved with word-line voltages ``u * v_read``; its
    differential bit-line currents are divided by ``v_read`` times the conductance of a unit weight.
    """
    solve_ = _solver(layer.config, transposed=False)
    mapping, part = layer.mapping, layer.partition
    unit = v_read * mapping.conductance_per_weight(layer.g_max - layer.g_min)
    out = torch.zeros(part.n_row_chunks, u.shape[0], layer.out_features, dtype=u.dtype, device=u.device)
    for r, (r0, r1) in enumerate(part.row_chunks()):
        v = u[:, r0:r1] * v_read
        for c0, c1 in part.col_blocks():
            block = mapping.array_block(g[r0:r1], c0, c1, layer.out_features, layer.g_min, layer.g_max)
            currents = solve_(block, v)
            out[r, :, c0:c1] = mapping.output_currents(currents.to(u.dtype), c1 - c0) / unit
    return out


def ir_drop_backward_partials(layer: TiledLayer, u: Tensor, g: Tensor, v_read: float) -> Tensor:
    """Normalised partial inputs (n_col_blocks, batch, in) of the transposed read with IR drop.

    The transposed read drives the bit lines and senses the word lines: the same network with the
    roles of the two wire sets swapped, solved as the transposed array.
    """
    solve_ = _solver(layer.config, transposed=True)
    mapping, part = layer.mapping, layer.partition
    unit = v_read * mapping.conductance_per_weight(layer.g_max - layer.g_min)
    out = torch.zeros(part.n_col_blocks, u.shape[0], layer.in_features, dtype=u.dtype, device=u.device)
    for c, (c0, c1) in enumerate(part.col_blocks()):
        v = mapping.bit_line_voltages(u[:, c0:c1] * v_read)
        for r0, r1 in part.row_chunks():
            block = mapping.array_block(g[r0:r1], c0, c1, layer.out_features, layer.g_min, layer.g_max)
            currents = solve_(block.T.contiguous(), v)
            out[c, :, r0:r1] = currents.to(u.dtype) / unit
    return out
