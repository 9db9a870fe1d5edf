"""A view of a tile that scales every pulse count it is asked to apply by a per-weight factor."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from memlearn.nn.tile import AnalogTile


def gate_pulses(n_w: Tensor, gate: Tensor, generator: torch.Generator) -> Tensor:
    """Scale integer pulse counts by ``gate`` in [0, 1] with unbiased stochastic rounding:
    ``n' = sign(n) floor(|n| gate + u)``, ``u ~ U[0, 1)``, so ``E[n'] = n gate`` (stochastic rounding
    as in Gupta et al., ICML 2015). Only entries with ``n != 0`` draw randomness."""
    scaled = n_w.abs().to(gate.dtype) * gate
    u = torch.rand(scaled.shape, generator=generator, device=scaled.device, dtype=scaled.dtype)
    out = torch.floor(scaled + u) * n_w.sign().to(scaled.dtype)
    return torch.where(n_w == 0, torch.zeros_like(out), out).to(n_w.dtype)


class GatedTile:
    """Wraps an :class:`AnalogTile` for one rule call: ``apply_weight_pulses(n_w)`` applies
    ``gate_pulses(n_w, gate)`` instead of ``n_w``; everything else is the tile's own attribute.

    This lets a continual-learning wrapper gate the pulses of *any* inner rule (the rule decides
    the pulses, the gate decides how many reach each device) without knowing how the rule works.
    """

    def __init__(self, tile: AnalogTile, gate: Tensor) -> None:
        self._tile = tile
        self._gate = gate

    def apply_weight_pulses(self, n_w: Tensor) -> Tensor:
        return self._tile.apply_weight_pulses(gate_pulses(n_w, self._gate, self._tile.generator))

    def apply_weight_pulse_events(self, w_index: Tensor, n: Tensor, lengths: list[int]) -> Tensor:
        gated = gate_pulses(n, self._gate.reshape(-1).index_select(0, w_index), self._tile.generator)
        return self._tile.apply_weight_pulse_events(w_index, gated, lengths)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tile, name)
