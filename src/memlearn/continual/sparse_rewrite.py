"""Sparse rewrites: only the largest updates of each step are programmed."""

from __future__ import annotations

import math
from dataclasses import dataclass
import torch

from memlearn.continual.pulse_gate import gated
from memlearn.validation import check_range
from memlearn.nn.pulses import Pulses
from memlearn.nn.tile import AnalogTile
from memlearn.rules.rule import PulseTransform
from memlearn.rules.update_request import UpdateRequest


@dataclass(frozen=True, kw_only=True)
class SparseRewrite(PulseTransform):
    """A pulse transform for ``chain(rule, SparseRewrite(...))``: per update only the ``fraction``
    of weights with the largest requested change ``|lr d^T x|`` may receive pulses, the rest are dropped.

    Writing only the top-k% of updates is the sparse-update scheme of on-device learning
    (Lin et al., "On-Device Training Under 256KB Memory", NeurIPS 2022, sparse update; top-k gradient
    sparsification, Aji & Heafield, EMNLP 2017). On a memristor chip it cuts pulses, write energy
    and wear, and leaves most devices of earlier tasks untouched.
    """

    fraction: float = 0.1
    """Fraction of weights written per update (in (0, 1])."""

    def __post_init__(self) -> None:
        check_range("fraction", self.fraction, 1e-9, 1.0)

    def init(self, tile: AnalogTile) -> None:
        return None

    def update(self, pulses: Pulses, request: UpdateRequest, tile: AnalogTile, state: None,
               generator: torch.Generator) -> tuple[Pulses, None]:
        dw = (request.d.T @ request.x).abs()
        k = max(1, math.ceil(self.fraction * dw.numel()))
        gate = torch.zeros(dw.numel(), device=dw.device, dtype=dw.dtype)
        gate[torch.topk(dw.flatten(), k, sorted=False).indices] = 1.0
        return gated(pulses, gate.view_as(dw), tile.generator), None
