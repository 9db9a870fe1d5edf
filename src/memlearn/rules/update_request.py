"""UpdateRequest: the lingua franca between a learning signal and the rule that writes it."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor


@dataclass(frozen=True)
class UpdateRequest:
    """A request to change a layer's weights by ``-lr * d^T x`` (summed over the batch).

    Args:
        x: layer inputs, shape (batch, in_features).
        d: error signals at the layer's outputs (dLoss/dy), shape (batch, out_features).
        lr: learning rate (the rule decides how it becomes pulses).

    Backprop, EP's two phases and meta-learners all produce these; rules turn them into pulses.
    """

    x: Tensor
    d: Tensor
    lr: float
