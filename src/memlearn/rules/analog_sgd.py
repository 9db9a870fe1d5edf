"""AnalogSGD: a torch.optim optimizer whose analog weights change only through pulses."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from memlearn.nn.tile import AnalogTile
from memlearn.rules.rule import Rule
from memlearn.rules.update_request import UpdateRequest


class AnalogSGD(torch.optim.Optimizer):
    """SGD over a model with analog tiles.

    Digital parameters (biases, norms) take a plain SGD step. Each analog tile's pending
    ``(x, d)`` from the last backward becomes an :class:`UpdateRequest` that ``rule`` turns into
    pulses. Use it like any torch optimizer: ``loss.backward(); opt.step(); opt.zero_grad()``.

    Args:
        model: the module holding analog layers.
        lr: learning rate for both analog and digital parameters.
        rule: the update rule for analog tiles.
    """

    def __init__(self, model: nn.Module, lr: float, rule: Rule) -> None:
        if not lr > 0:
            raise ValueError(f"lr={lr!r} must be > 0")
        self.tiles = [m for m in model.modules() if isinstance(m, AnalogTile)]
        params = [p for p in model.parameters() if p.requires_grad]
        super().__init__(params if params else [torch.zeros(0, requires_grad=True)], dict(lr=lr))
        self.rule = rule
        self.rule_states: list[Any] = [rule.init(t) for t in self.tiles]

    @torch.no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.add_(p.grad, alpha=-group["lr"])
        lr = self.param_groups[0]["lr"]
        for i, tile in enumerate(self.tiles):
            if tile.pending is None:
                continue
            x, d = tile.pending
            x2, d2 = x.reshape(-1, x.shape[-1]), d.reshape(-1, d.shape[-1])
            self.rule_states[i] = self.rule.apply(UpdateRequest(x2, d2, lr), tile, self.rule_states[i], tile.generator)
            tile.pending = None
        return loss
