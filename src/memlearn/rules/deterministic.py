"""Deterministic pulse update: pulse counts rounded from the outer product."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from memlearn.devices.validation import check_range
from memlearn.nn.tile import AnalogTile
from memlearn.rules.rule import Rule
from memlearn.rules.update_request import UpdateRequest


@dataclass(frozen=True, kw_only=True)
class DeterministicPulse(Rule):
    """``n = round(-lr d^T x / dw_min)``, clipped to ``+-max_pulses`` per update.

    The rounded-pulse scheme of Burr et al., IEEE TED 2015 ("Experimental demonstration and
    tolerancing of a large-scale neural network (165,000 synapses) using phase-change memory").
    """

    max_pulses: int = 31
    """Largest pulse count per device per update (>= 1)."""

    def __post_init__(self) -> None:
        check_range("max_pulses", self.max_pulses, 1, 1e6)

    def init(self, tile: AnalogTile) -> None:
        return None

    def apply(self, request: UpdateRequest, tile: AnalogTile, state, generator: torch.Generator) -> None:
        dw = -request.lr * request.d.T @ request.x
        n = torch.round(dw / tile.dw_min).clamp_(-self.max_pulses, self.max_pulses).to(torch.int32)
        tile.apply_weight_pulses(n)
        return None
