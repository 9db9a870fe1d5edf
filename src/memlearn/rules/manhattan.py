"""Manhattan rule: the sign of the update only, one pulse per device."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from memlearn.nn.pulses import Pulses
from memlearn.nn.tile import AnalogTile
from memlearn.periphery.pulse_coding import sign_counts
from memlearn.rules.rule import Rule
from memlearn.rules.update_request import UpdateRequest


@dataclass(frozen=True, kw_only=True)
class Manhattan(Rule):
    """``n = -sign(d^T x)``: every device whose batch gradient is nonzero gets exactly one pulse.

    Zamanidoost, Bayat, Strukov & Kataeva, IEEE WISP 2015 ("Manhattan rule training for
    memristive crossbar circuit pattern classifiers"), Eq. 3; used on chip by Prezioso et al.,
    Nature 2015. The learning rate does not scale the step: the device step ``dw_min`` is the
    effective learning rate, so ``lr`` only has to be > 0.
    """

    def init(self, tile: AnalogTile) -> None:
        return None

    def update(self, request: UpdateRequest, tile: AnalogTile, state: None,
               generator: torch.Generator) -> tuple[Pulses, None]:
        return Pulses.dense(sign_counts(request.x, request.d)), None
