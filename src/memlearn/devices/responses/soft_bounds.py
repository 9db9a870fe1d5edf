"""Soft-bounds response: the step shrinks linearly as the conductance nears its bound."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from memlearn.devices.response import PulseResponse
from memlearn.devices.responses._saturating import saturating_moments
from memlearn.devices.variability import spread
from memlearn.devices.validation import check_positive, check_range, check_order


@dataclass(frozen=True, kw_only=True)
class SoftBounds(PulseResponse):
    """Soft bounds: ``dg_up = alpha_up (g_max - g)``, ``dg_down = alpha_down (g - g_min)``.

    Source: Fusi & Abbott, Nat. Neurosci. 2007 (soft-bounded synapses); used for RRAM by
    Gokmen & Haensch, Front. Neurosci. 2020 (Tiki-Taka) and aihwkit's ``SoftBoundsDevice``.
    With ``alpha = dg0 / (g_max - g_min)`` (``dg0`` the step at the opposite bound) the n-pulse
    response is exactly ``g_n = g_max - (g_max - g_0)(1 - alpha_up)^n`` (up) and
    ``g_n = g_min + (g_0 - g_min)(1 - alpha_down)^n`` (down). Cycle-to-cycle noise is additive,
    ``sigma_c2c (g_max - g_min)`` per pulse (NeuroSim's convention), composed in closed form.
    """

    g_min: float = 1e-6
    """Minimum conductance (S)."""
    g_max: float = 1e-5
    """Maximum conductance (S); must exceed g_min."""
    n_pulses: int = 100
    """Pulses that take a device from g_min halfway-exponentially: ``alpha = 1 / n_pulses`` (dimensionless, >= 1)."""
    asymmetry: float = 0.0
    """Relative up/down step difference: ``alpha_up = alpha (1 + a)``, ``alpha_down = alpha (1 - a)``; in (-1, 1)."""
    sigma_c2c: float = 0.0
    """Cycle-to-cycle noise per pulse, relative to (g_max - g_min); >= 0."""
    d2d_step: float = 0.0
    """Device-to-device relative std of the step (alpha); >= 0."""
    d2d_bounds: float = 0.0
    """Device-to-device relative std of g_min and g_max; >= 0."""

    def __post_init__(self) -> None:
        check_positive("g_min", self.g_min)
        check_order("g_min", self.g_min, "g_max", self.g_max)
        check_range("n_pulses", self.n_pulses, 1, 1e7)
        check_range("asymmetry", self.asymmetry, -0.999, 0.999)
        for name in ("sigma_c2c", "d2d_step", "d2d_bounds"):
            check_range(name, getattr(self, name), 0.0, 10.0)

    def sample(self, shape, generator, device=None, dtype=torch.float32) -> dict[str, Tensor]:
        g_min = spread(self.g_min, self.d2d_bounds, shape, generator, device, dtype, minimum=0.0)
        g_max = spread(self.g_max, self.d2d_bounds, shape, generator, device, dtype)
        g_max = torch.maximum(g_max, g_min * 1.001 + 1e-12)
        alpha = spread(1.0 / self.n_pulses, self.d2d_step, shape, generator, device, dtype, minimum=1e-6).clamp_max(0.9)
        a_up = (alpha * (1 + self.asymmetry)).clamp(1e-7, 0.999)
        a_down = (alpha * (1 - self.asymmetry)).clamp(1e-7, 0.999)
        return {
            "g_min": g_min,
            "g_max": g_max,
            "log_keep_up": torch.log1p(-a_up),
            "log_keep_down": torch.log1p(-a_down),
            "sigma": self.sigma_c2c * (g_max - g_min),
        }

    def moments(self, g: Tensor, n: Tensor, params: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        up = n > 0
        target = torch.where(up, params["g_max"], params["g_min"])
        log_keep = torch.where(up, params["log_keep_up"], params["log_keep_down"])
        return saturating_moments(g, n.abs(), target, log_keep, params["sigma"])

    def n_states(self, params: dict[str, Tensor]) -> Tensor:
        # Range divided by the expected step at mid-range: (g_max - g_min) / (alpha (g_max - g_min) / 2).
        a = -torch.expm1(params["log_keep_up"])
        return 1.0 / (a * 0.5)
