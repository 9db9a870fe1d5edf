"""Mixed-precision training: a digital accumulator per weight, pulses only past a device step."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from memlearn.validation import check_range
from memlearn.nn.pulses import Pulses
from memlearn.nn.tile import AnalogTile
from memlearn.rules.rule import Rule
from memlearn.rules.update_request import UpdateRequest


@dataclass(frozen=True, kw_only=True)
class MixedPrecision(Rule):
    """Mixed-precision update of Nandakumar et al., Front. Neurosci. 2020 ("Mixed-precision deep
    learning based on computational memory"), Algorithm 1.

    A digital accumulator ``chi`` (out, in) per weight collects ``-lr d^T x``; where
    ``|chi| >= dw_min`` the device is programmed with ``p = sign(chi) floor(|chi| / dw_min)``
    pulses (at most ``max_pulses``) and ``chi`` is decremented by ``p dw_min``, the nominal
    change. With ``read_back=True`` it is decremented by the change actually read back from the
    tile instead, so nonlinear steps are corrected in later updates (the verify variant).

    State: ``{"chi": (out, in) tensor, "dw_min": float}`` (with ``read_back``, between
    :meth:`update` and :meth:`written` also ``"before"``: the weights before the write).
    """

    max_pulses: int = 31
    """Largest pulse count per device per update (>= 1)."""
    read_back: bool = False
    """Subtract the read-back weight change (True) or the nominal ``p dw_min`` (False)."""

    def __post_init__(self) -> None:
        check_range("max_pulses", self.max_pulses, 1, 1e6)

    def init(self, tile: AnalogTile) -> dict:
        chi = torch.zeros(tile.out_features, tile.in_features, device=tile.array.g.device, dtype=tile.array.g.dtype)
        return {"chi": chi, "dw_min": tile.dw_min}

    def update(self, request: UpdateRequest, tile: AnalogTile, state: dict,
               generator: torch.Generator) -> tuple[Pulses, dict]:
        dw_min = state["dw_min"]
        chi = state["chi"] + (request.d.T @ request.x).mul_(-request.lr)
        pulses = torch.trunc(chi / dw_min).clamp_(-self.max_pulses, self.max_pulses)
        n = pulses.to(torch.int32)
        if self.read_back:  # the change actually made is subtracted once the tile has written n
            return Pulses.dense(n), {"chi": chi, "dw_min": dw_min, "before": tile.weights()}
        return Pulses.dense(n), {"chi": chi - pulses * dw_min, "dw_min": dw_min}

    def written(self, state: dict, tile: AnalogTile) -> dict:
        if "before" not in state:
            return state
        return {"chi": state["chi"] - (tile.weights() - state["before"]), "dw_min": state["dw_min"]}
