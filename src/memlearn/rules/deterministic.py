"""Deterministic pulse update: pulse counts rounded from the outer product."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from memlearn.validation import check_range
from memlearn.nn.pulses import Pulses
from memlearn.nn.tile import AnalogTile
from memlearn.periphery.pulse_coding import rounded_counts
from memlearn.rules.rule import Rule
from memlearn.rules.update_request import UpdateRequest


@dataclass(frozen=True, kw_only=True)
class DeterministicPulse(Rule):
    """``n = round(-lr d^T x / dw_min)``, clipped to ``+-max_pulses`` per update.

    The rounded-pulse scheme of Burr et al., IEEE TED 2015 ("Experimental demonstration and
    tolerancing of a large-scale neural network (165,000 synapses) using phase-change memory").
    Updates smaller than half a device step are lost (no accumulation: see ``MixedPrecision``).
    State: ``{"dw_min": float}``, the tile's nominal step, read once.
    """

    max_pulses: int = 31
    """Largest pulse count per device per update (>= 1)."""

    def __post_init__(self) -> None:
        check_range("max_pulses", self.max_pulses, 1, 1e6)

    def init(self, tile: AnalogTile) -> dict:
        return {"dw_min": tile.dw_min}

    def update(self, request: UpdateRequest, tile: AnalogTile, state: dict,
               generator: torch.Generator) -> tuple[Pulses, dict]:
        n = rounded_counts(request.x, request.d, request.lr, state["dw_min"], self.max_pulses)
        return Pulses.dense(n), state
