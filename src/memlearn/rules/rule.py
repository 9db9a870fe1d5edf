"""The Rule interface: how an UpdateRequest becomes pulses on a tile."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch

from memlearn.crossbar.crossbar import Crossbar
from memlearn.nn.tile import AnalogTile
from memlearn.rules.update_request import UpdateRequest


class Rule(ABC):
    """An update rule, after optax's design: an immutable config (the dataclass fields), explicit
    state from ``init``, and ``apply`` returning the new state.

    ``apply`` writes only through ``tile.apply_weight_pulses`` (or through arrays held in its own
    state, e.g. Tiki-Taka's fast array), so the device physics decides what every pulse does.
    """

    @abstractmethod
    def init(self, tile: AnalogTile) -> Any:
        """Rule state for one tile (a dict of tensors, or None)."""

    @abstractmethod
    def apply(self, request: UpdateRequest, tile: AnalogTile, state: Any, generator: torch.Generator) -> Any:
        """Turn ``request`` into pulses on ``tile``; return the new rule state."""

    def arrays(self, state: Any) -> list[Crossbar]:
        """Crossbars the rule holds in ``state`` besides the tile's own (for pulse and wear
        accounting); none by default."""
        return []


class Transform(ABC):
    """A digital pre-transform of update requests (optax's ``GradientTransformation``), composed
    in front of a rule with :func:`memlearn.rules.chain`."""

    @abstractmethod
    def init(self, tile: AnalogTile) -> Any:
        """Transform state for one tile (or None)."""

    @abstractmethod
    def update(self, request: UpdateRequest, tile: AnalogTile, state: Any,
               generator: torch.Generator) -> tuple[UpdateRequest, Any]:
        """Return the transformed request and the new state."""
