"""The autograd function of a tile: circuit forward, transposed circuit backward, update request recorded."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

if TYPE_CHECKING:
    from memlearn.nn.tile import AnalogTile


class TileMatmul(torch.autograd.Function):
    """Forward through the circuit; backward gives the transposed circuit MVM for the input
    gradient and records (x, d) on the tile as the pending update request."""

    @staticmethod
    def forward(ctx, x: Tensor, anchor: Tensor, tile: "AnalogTile", training: bool) -> Tensor:
        ctx.tile = tile
        ctx.save_for_backward(x)
        return tile.read_forward(x, check_finite=True, training=training)

    @staticmethod
    def backward(ctx, d: Tensor):
        (x,) = ctx.saved_tensors
        tile: AnalogTile = ctx.tile
        tile.record_update(x, d)
        grad_x = tile.backward_circuit(d) if ctx.needs_input_grad[0] else None
        return grad_x, None, None, None
