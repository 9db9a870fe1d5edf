"""NeuroSim V3.0's weight update: every sample writes every weight a rounded number of pulses."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from memlearn.validation import check_range
from memlearn.nn.pulses import Pulses
from memlearn.nn.tile import AnalogTile
from memlearn.rules.rule import Rule
from memlearn.rules.update_request import UpdateRequest


def truncate_levels(dw: Tensor, levels_ltp: float, levels_ltd: float) -> Tensor:
    """Signed pulse counts ``n = sign(dw) floor(|dw| L + 1/2)``, clipped to ``+-L`` (int32, shape of ``dw``).

    ``dw`` is the weight change normalised by the weight range, ``L`` the device's level count
    of its direction (``levels_ltp`` for ``dw > 0``, ``levels_ltd`` for ``dw < 0``). Rounding is
    half-up in magnitude (half away from zero), so a change under half a level is lost: NeuroSim's
    ``truncate(x, numLevel)`` (``formula.cpp``) followed by ``numPulse = x numLevel`` and its clip
    to ``+-maxNumLevel`` (``RealDevice::Write`` in ``Cell.cpp``, MLP+NeuroSim V3.0).
    """
    if levels_ltp == levels_ltd:
        n = dw.abs().mul_(float(levels_ltp)).add_(0.5).floor_().clamp_max_(float(levels_ltp))
    else:
        levels = torch.where(dw > 0, float(levels_ltp), float(levels_ltd)).to(dw.dtype)
        n = torch.floor(dw.abs() * levels + 0.5).minimum(levels)
    return n.mul_(dw.sign()).to(torch.int32)


def neurosim_counts(x: Tensor, d: Tensor, lr: float, weight_range: Tensor | float, levels_ltp: float,
                    levels_ltd: float) -> Tensor:
    """Per-sample pulse counts (batch, out, in) of NeuroSim's update.

    Args:
        x: layer inputs (batch, in); d: output errors dLoss/dy (batch, out); lr: NeuroSim's alpha.
        weight_range: ``maxWeight - minWeight`` in the layer's weight units (a float, or (out, 1)
            per output row).
        levels_ltp, levels_ltd: maxNumLevelLTP / maxNumLevelLTD of the device.

    Each sample ``b`` asks ``dW_b = -alpha d_b x_b^T`` (``Train.cpp``: ``deltaWeight = -alpha s input``),
    normalised by the range and truncated to levels (:func:`truncate_levels`). Chen, Peng & Yu,
    "NeuroSim: A Circuit-Level Macro Model for Benchmarking Neuro-Inspired Architectures in Online
    Learning", IEEE TCAD 37(12), 2018; MLP+NeuroSim V3.0 user manual.
    """
    dw = torch.einsum("bo,bi->boi", d, x).mul_(-lr).div_(weight_range)
    return truncate_levels(dw, levels_ltp, levels_ltd)


@dataclass(frozen=True, kw_only=True)
class NeuroSimPulse(Rule):
    """NeuroSim V3.0's on-chip SGD write: for every sample and every weight,
    ``n = round_half_up(-alpha d x / (w_max - w_min) * maxNumLevel)`` pulses, applied along the
    device's own (nonlinear, noisy) pulse response.

    Unlike :class:`~memlearn.rules.DeterministicPulse` the count is scaled by the device's level
    count over the *weight range* (not by the nominal step at mid-range) and uses the LTP or LTD
    level count by direction; a mini-batch is written sample after sample (one write per sample,
    in order, as NeuroSim writes after every image), never summed. With NeuroSim's one-device
    synapse use :class:`~memlearn.crossbar.mapping.ReferenceColumnMapping` (``w_max = 1``: weights
    in [-1, 1], range 2). State: ``{"weight_range": (out, 1) tensor, "levels": (ltp, ltd)}``.
    """

    levels_ltp: int = 0
    """maxNumLevelLTP: potentiation pulses spanning the weight range (>= 1); 0 = the device's
    level count (``Device.n_states``, mean over the array, rounded)."""
    levels_ltd: int = 0
    """maxNumLevelLTD (>= 1); 0 = as ``levels_ltp``'s default."""

    def __post_init__(self) -> None:
        check_range("levels_ltp", self.levels_ltp, 0, 1e7)
        check_range("levels_ltd", self.levels_ltd, 0, 1e7)

    def init(self, tile: AnalogTile) -> dict:
        default = max(round(float(tile.config.device.n_states(tile.array.state).float().mean())), 1)
        levels = (self.levels_ltp or default, self.levels_ltd or default)
        weight_range = 2.0 * tile.w_scale.detach().reshape(-1, 1).clone()
        return {"weight_range": weight_range, "levels": levels}

    def pulses(self, request: UpdateRequest, state: dict) -> Tensor:
        """The rule's pure part: signed counts (batch, out, in), one write per sample."""
        return neurosim_counts(request.x, request.d, request.lr, state["weight_range"].to(request.x),
                               *state["levels"])

    def update(self, request: UpdateRequest, tile: AnalogTile, state: dict,
               generator: torch.Generator) -> tuple[Pulses, dict]:
        n = self.pulses(request, state)
        flat = n.reshape(n.shape[0], -1)
        nz = flat.nonzero()
        lengths = torch.bincount(nz[:, 0], minlength=n.shape[0]).tolist()
        return Pulses.events(nz[:, 1], flat[nz[:, 0], nz[:, 1]], lengths), state
