"""chain(...): request transforms in front of a rule and pulse transforms after it (optax style)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch

from memlearn.crossbar.crossbar import Crossbar
from memlearn.validation import check_positive
from memlearn.nn.pulses import Pulses
from memlearn.nn.tile import AnalogTile
from memlearn.rules.rule import PulseTransform, Rule, Transform
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
    """Request transforms applied in order to every request, then ``rule`` decides the pulses,
    then pulse transforms applied in order to the pulses (e.g. a continual-learning gate).

    State: ``(request transform states, rule state, pulse transform states)``.
    """

    transforms: tuple[Transform, ...]
    rule: Rule
    pulse_transforms: tuple[PulseTransform, ...] = ()

    def init(self, tile: AnalogTile) -> tuple:
        return (tuple(t.init(tile) for t in self.transforms), self.rule.init(tile),
                tuple(p.init(tile) for p in self.pulse_transforms))

    def update(self, request: UpdateRequest, tile: AnalogTile, state: tuple,
               generator: torch.Generator) -> tuple[Pulses, tuple]:
        t_states, r_state, p_states = state
        new_t = []
        for transform, t_state in zip(self.transforms, t_states):
            request, t_state = transform.update(request, tile, t_state, generator)
            new_t.append(t_state)
        pulses, r_state = self.rule.update(request, tile, r_state, generator)
        new_p = []
        for transform, p_state in zip(self.pulse_transforms, p_states):
            pulses, p_state = transform.update(pulses, request, tile, p_state, generator)
            new_p.append(p_state)
        return pulses, (tuple(new_t), r_state, tuple(new_p))

    def written(self, state: tuple, tile: AnalogTile) -> tuple:
        t_states, r_state, p_states = state
        return (t_states, self.rule.written(r_state, tile),
                tuple(p.written(s, tile) for p, s in zip(self.pulse_transforms, p_states)))

    def arrays(self, state: tuple) -> list[Crossbar]:
        return self.rule.arrays(state[1])

    def pulse_state(self, state: tuple, transform: PulseTransform) -> Any:
        """The state of ``transform`` (one of :attr:`pulse_transforms`) in the chain's ``state``."""
        return state[2][self._position(transform)]

    def with_pulse_state(self, state: tuple, transform: PulseTransform, new: Any) -> tuple:
        """``state`` with the state of ``transform`` replaced by ``new``."""
        k = self._position(transform)
        return state[0], state[1], state[2][:k] + (new,) + state[2][k + 1:]

    def _position(self, transform: PulseTransform) -> int:
        for k, p in enumerate(self.pulse_transforms):
            if p is transform:
                return k
        raise ValueError(f"{type(transform).__name__} is not one of this chain's pulse transforms")


def chain(*parts: Transform | Rule | PulseTransform) -> Chain:
    """``chain(t1, ..., rule, p1, ...)``: request transforms in order, then the rule (exactly one),
    then pulse transforms in order."""
    rules = [i for i, part in enumerate(parts) if isinstance(part, Rule)]
    if len(rules) != 1:
        raise ValueError(f"chain(...) needs exactly one Rule, got {len(rules)}")
    r = rules[0]
    for i, t in enumerate(parts[:r]):
        if not isinstance(t, Transform):
            raise ValueError(f"chain argument {i} is {type(t).__name__}; only request Transforms may precede the Rule")
    for i, t in enumerate(parts[r + 1:], start=r + 1):
        if not isinstance(t, PulseTransform):
            raise ValueError(f"chain argument {i} is {type(t).__name__}; only PulseTransforms may follow the Rule")
    return Chain(tuple(parts[:r]), parts[r], tuple(parts[r + 1:]))
