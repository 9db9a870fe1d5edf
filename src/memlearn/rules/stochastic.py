"""Stochastic pulse trains: coincidences of random bit streams program the devices."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from memlearn.validation import check_range
from memlearn.nn.pulses import Pulses
from memlearn.nn.tile import AnalogTile
from memlearn.periphery.drawn_counts import drawn_events
from memlearn.periphery.line_trains import line_trains
from memlearn.periphery.pulse_coding import stochastic_events
from memlearn.rules.rule import Rule
from memlearn.rules.update_request import UpdateRequest


@dataclass(frozen=True, kw_only=True)
class StochasticPulse(Rule):
    """Stochastic pulse update of the resistive processing unit (Gokmen & Vlasov, Front. Neurosci.
    2016, Eq. 5-6): ``x_i`` and ``d_j`` become Bernoulli bit streams of length ``BL`` with
    probabilities ``p = c |v|``; every coincidence moves device ``(j, i)`` by one pulse of sign
    ``-sign(d_j x_i)``, so ``E[dW_ji] = BL c_x c_d |x_i d_j| dw_min = lr |x_i d_j|``.

    Two semantics for a mini-batch (both exact in expectation):

    * ``per_sample=False`` (batched): the coincidence counts are summed over the batch and applied
      in one write, ``n = sum_b sum_t sd_bt^T sx_bt``, one matrix product of the bit streams.
    * ``per_sample=True`` (aihwkit's semantics): each sample's pulse trains are applied in turn,
      one write per sample, so a device pulsed up by one sample and down by the next receives
      both trains (with their noise, wear and energy) in that order.

    With ``bl_management`` every sample's trains get their own length (as aihwkit sizes each
    vector's), in both semantics. Both are sparse: only weights with at least one coincidence are
    touched (:func:`memlearn.periphery.pulse_coding.stochastic_events` and
    :class:`memlearn.nn.pulses.Pulses` events), so a small batch costs in
    proportion to its pulses, not to the array.

    State: ``{"dw_min": float}``: the tile's nominal step, read once.
    """

    bl: int = 31
    """Maximum bit-stream length BL, pulses per update (1..1024)."""
    update_management: bool = True
    """Balance the two streams' largest probabilities (Gokmen et al., Front. Neurosci. 2017)."""
    bl_management: bool = True
    """Shorten each sample's BL to the fewest pulses that express its largest update (aihwkit's default)."""
    per_sample: bool = False
    """Apply each sample's pulse trains in turn (True) or the batch sum at once (False)."""
    batched: str = "summed"
    """With ``per_sample=False``: ``"summed"`` sums every sample's coincidences (exact joint
    distribution, cost grows with batch x BL); ``"drawn"`` draws the batch counts from their
    moment-matched distribution given three products of the line probabilities (cost of a few
    matmuls; equations and differences in :mod:`memlearn.periphery.drawn_counts`)."""

    def __post_init__(self) -> None:
        check_range("bl", self.bl, 1, 1024)
        if self.batched not in ("summed", "drawn"):
            raise ValueError(f"batched must be 'summed' or 'drawn', got {self.batched!r}")

    def init(self, tile: AnalogTile) -> dict:
        return {"dw_min": tile.dw_min}

    def update(self, request: UpdateRequest, tile: AnalogTile, state: dict,
               generator: torch.Generator) -> tuple[Pulses, dict]:
        if not self.per_sample and self.batched == "drawn":
            return Pulses.events(*drawn_events(
                request.x, request.d, request.lr, state["dw_min"], self.bl, generator,
                update_management=self.update_management, bl_management=self.bl_management)), state
        if self.per_sample:  # the line trains themselves: the tile forms and writes their coincidences
            return Pulses.trains(line_trains(request.x, request.d, request.lr, state["dw_min"], self.bl, generator,
                                             update_management=self.update_management,
                                             bl_management=self.bl_management)), state
        events = stochastic_events(request.x, request.d, request.lr, state["dw_min"], self.bl, generator,
                                   update_management=self.update_management, bl_management=self.bl_management,
                                   per_sample=self.per_sample)
        return Pulses.events(*events), state
