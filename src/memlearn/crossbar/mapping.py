"""Weights <-> conductances. The only module that converts between the two."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from memlearn.devices.validation import check_positive


@dataclass(frozen=True, kw_only=True)
class DifferentialMapping:
    """Differential pair: ``w = w_max (G+ - G-) / (g_max - g_min)`` with nominal device bounds.

    Each weight uses two devices on two bit lines; the periphery subtracts their currents.
    Positive updates potentiate G+ and depress G- by the same pulse count (push-pull), the
    common bidirectional scheme (e.g. Li et al., Nat. Commun. 2018, 1T1R differential pairs).
    """

    w_max: float = 1.0
    """Weight represented by a full-range conductance difference (dimensionless, > 0)."""

    def __post_init__(self) -> None:
        check_positive("mapping.w_max", self.w_max)

    def columns_per_output(self) -> int:
        return 2

    def to_weights(self, g: Tensor, g_range: float, out_features: int) -> Tensor:
        """Weights (out, in) from array conductances (in, 2*out) laid out as ``[G+ | G-]``."""
        g_plus, g_minus = g[:, :out_features], g[:, out_features:]
        return (self.w_max / g_range) * (g_plus - g_minus).T

    def target_conductances(self, w: Tensor, g_min: float, g_max: float) -> Tensor:
        """Conductances (in, 2*out) that represent ``w`` (out, in), symmetric about mid-range:
        ``G+- = g_mid +- dg / 2``. Mid-range is where soft-bounded up and down steps balance, so
        learning starts from the devices' most symmetric point."""
        g_range = g_max - g_min
        dg = (w.clamp(-self.w_max, self.w_max) / self.w_max * g_range).T
        g_mid = 0.5 * (g_min + g_max)
        return torch.cat([g_mid + 0.5 * dg, g_mid - 0.5 * dg], dim=1)

    def device_pulses(self, n_w: Tensor) -> Tensor:
        """Per-device signed pulses (in, 2*out) from per-weight pulse counts (out, in)."""
        return torch.cat([n_w.T, -n_w.T], dim=1)
