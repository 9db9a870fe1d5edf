"""chain(...): digital pre-transforms of update requests composed in front of a rule (optax style)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from memlearn.crossbar.crossbar import Crossbar
from memlearn.devices.validation import check_positive
from memlearn.nn.tile import AnalogTile
from memlearn.rules.rule import Rule, Transform
from memlearn.rules.update_request import UpdateRequest


@dataclass(frozen=True, kw_only=True)
class ScaleLR(Transform):
    """Multiply the request's learning rate by ``factor`` (e.g. a per-layer learning rate)."""

    factor: float
    """Multiplier of the learning rate (> 0)."""

    def __post_init__(self) -> None:
        check_positive("factor", self.factor)

    def init(self, tile: AnalogTile) -> None:
        return None

    def update(self, request, tile, state, generator):
        return replace(request, lr=request.lr * self.factor), state


@dataclass(frozen=True, kw_only=True)
class ClipError(Transform):
    """Clip the error signal ``d`` elementwise to ``+-max_abs`` (the backward-path clipping of
    bounded periphery; cf. aihwkit's ``d_res``/``d_bound`` on the update)."""

    max_abs: float
    """Largest |d| passed on (> 0, in units of dLoss/dy)."""

    def __post_init__(self) -> None:
        check_positive("max_abs", self.max_abs)

    def init(self, tile: AnalogTile) -> None:
        return None

    def update(self, request, tile, state, generator):
        return replace(request, d=request.d.clamp(-self.max_abs, self.max_abs)), state


@dataclass(frozen=True)
class Chain(Rule):
    """Transforms applied in order to every request, then ``rule`` writes the result."""

    transforms: tuple[Transform, ...]
    rule: Rule

    def init(self, tile: AnalogTile) -> tuple:
        return tuple(t.init(tile) for t in self.transforms), self.rule.init(tile)

    def apply(self, request: UpdateRequest, tile: AnalogTile, state: tuple, generator: torch.Generator) -> tuple:
        t_states, r_state = state
        new_states = []
        for transform, t_state in zip(self.transforms, t_states):
            request, t_state = transform.update(request, tile, t_state, generator)
            new_states.append(t_state)
        return tuple(new_states), self.rule.apply(request, tile, r_state, generator)

    def arrays(self, state: tuple) -> list[Crossbar]:
        return self.rule.arrays(state[1])


def chain(*parts: Transform | Rule) -> Chain:
    """``chain(t1, t2, ..., rule)``: the transforms in order, then the rule (exactly one, last)."""
    if not parts or not isinstance(parts[-1], Rule):
        raise ValueError("chain(...) needs a Rule as its last argument")
    transforms = parts[:-1]
    for i, t in enumerate(transforms):
        if not isinstance(t, Transform):
            raise ValueError(f"chain argument {i} is {type(t).__name__}; only the last argument may be a Rule")
    return Chain(tuple(transforms), parts[-1])
