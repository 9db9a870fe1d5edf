"""Array reads with wire resistance: each physical array of a tile solved by the IR-drop model."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import torch
from torch import Tensor

if TYPE_CHECKING:
    from memlearn.nn.tile import AnalogTile


def _solver(tile: "AnalogTile", transposed: bool):
    """``currents = solve(g, v)`` for the tile's IR-drop config (word and bit lines swapped when
    the read is transposed: the bit lines are driven, the word lines sensed)."""
    from memlearn.crossbar import ir_drop  # engineer B's module, imported when first needed

    cfg = tile.config.ir_drop
    if transposed:
        cfg = dataclasses.replace(cfg, r_word_line=cfg.r_bit_line, r_bit_line=cfg.r_word_line,
                                  r_source=cfg.r_sense, r_sense=cfg.r_source)
    return lambda g, v: ir_drop.solve(cfg, g, v)


def _v_read(tile: "AnalogTile", backward: bool) -> float:
    from memlearn.nn.tile import _DEFAULT_DAC

    dac = tile.config.dac_backward if backward else tile.config.dac
    return (dac or _DEFAULT_DAC).v_read


def ir_drop_forward_partials(tile: "AnalogTile", u: Tensor, g: Tensor) -> Tensor:
    """Normalised partial outputs (n_row_chunks, batch, out) with IR drop in every array.

    ``u``: DAC levels (batch, in); ``g``: conductances as read (in, n_columns), S. Each array is
    solved with word-line voltages ``u * v_read``; its differential bit-line currents are divided
    by ``v_read`` times the conductance of a unit weight.
    """
    solve = _solver(tile, transposed=False)
    mapping, part = tile.config.mapping, tile.partition
    v_read = _v_read(tile, backward=False)
    unit = v_read * mapping.conductance_per_weight(tile.g_range)
    out = torch.zeros(part.n_row_chunks, u.shape[0], tile.out_features, dtype=u.dtype, device=u.device)
    for r, (r0, r1) in enumerate(part.row_chunks()):
        v = u[:, r0:r1] * v_read
        for c0, c1 in part.col_blocks():
            block = mapping.array_block(g[r0:r1], c0, c1, tile.out_features, tile._g_min, tile._g_max)
            currents = solve(block, v)
            out[r, :, c0:c1] = mapping.output_currents(currents.to(u.dtype), c1 - c0) / unit
    return out


def ir_drop_backward_partials(tile: "AnalogTile", u: Tensor, g: Tensor) -> Tensor:
    """Normalised partial inputs (n_col_blocks, batch, in) of the transposed read with IR drop.

    The transposed read drives the bit lines and senses the word lines: the same network with the
    roles of the two wire sets swapped, solved as the transposed array.
    """
    solve = _solver(tile, transposed=True)
    mapping, part = tile.config.mapping, tile.partition
    v_read = _v_read(tile, backward=True)
    unit = v_read * mapping.conductance_per_weight(tile.g_range)
    out = torch.zeros(part.n_col_blocks, u.shape[0], tile.in_features, dtype=u.dtype, device=u.device)
    for c, (c0, c1) in enumerate(part.col_blocks()):
        v = mapping.bit_line_voltages(u[:, c0:c1] * v_read)
        for r0, r1 in part.row_chunks():
            block = mapping.array_block(g[r0:r1], c0, c1, tile.out_features, tile._g_min, tile._g_max)
            currents = solve(block.T.contiguous(), v)
            out[c, :, r0:r1] = currents.to(u.dtype) / unit
    return out
