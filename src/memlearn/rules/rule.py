"""The Rule interface: how an UpdateRequest becomes pulses on a tile."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch

from memlearn.nn.tile import AnalogTile
from memlearn.rules.update_request import UpdateRequest


class Rule(ABC):
    """An update rule, after optax's design: an immutable config (the dataclass fields), explicit
    state from ``init``, and ``apply`` returning the new state.

    ``apply`` writes only through ``tile.apply_weight_pulses`` (or through crossbars held in its own
    state, e.g. Tiki-Taka's fast array), so the device physics decides what every pulse does.
    """

    @abstractmethod
    def init(self, tile: AnalogTile) -> Any:
        """Rule state for one tile (a dict of tensors, or None)."""

    @abstractmethod
    def apply(self, request: UpdateRequest, tile: AnalogTile, state: Any, generator: torch.Generator) -> Any:
        """Turn ``request`` into pulses on ``tile``; return the new rule state."""
