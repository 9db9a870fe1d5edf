"""Soft-bounds response: the step shrinks linearly as the conductance nears its bound."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from memlearn.devices.response import PulseResponse
from memlearn.devices.responses._saturating import (directional, multiplicative_params, saturating_affine,
                                                     saturating_affine_maps, saturating_moments, saturating_params,
                                                     saturating_pulse, saturating_pulse_map)
from memlearn.devices.variability import spread, spread_asymmetry, spread_bounds
from memlearn.devices.validation import check_bounds
from memlearn.validation import check_count, check_range


@dataclass(frozen=True, kw_only=True)
class SoftBounds(PulseResponse):
    """Soft bounds: ``dg_up = alpha_up (g_max - g)``, ``dg_down = alpha_down (g - g_min)``.

    Source: Fusi & Abbott, Nat. Neurosci. 2007 (soft-bounded synapses); used for RRAM by
    Gokmen & Haensch, Front. Neurosci. 2020 (Tiki-Taka) and aihwkit's ``SoftBoundsDevice``.
    The n-pulse response is exactly ``g_n = g_max - (g_max - g_0)(1 - alpha_up)^n`` (up) and
    ``g_n = g_min + (g_0 - g_min)(1 - alpha_down)^n`` (down). Cycle-to-cycle noise per pulse is
    either additive, ``sigma_c2c (g_max - g_min)`` (NeuroSim's convention), or proportional to the
    step, ``dg (1 + sigma_c2c xi)`` (aihwkit's ``SoftBoundsDevice`` default ``mult_noise=True``,
    whose per-pulse update is ``w += (slope w + scale)(1 + dw_min_std xi)``); both are composed in
    closed form (``memlearn.devices.responses._saturating``).
    """

    affine: ClassVar[bool] = True

    g_min: float = 1e-6
    """Minimum conductance (S, > 0)."""
    g_max: float = 1e-5
    """Maximum conductance (S); must exceed g_min."""
    n_pulses: int = 100
    """Inverse of the relative step at the opposite bound: ``alpha = 1 / n_pulses`` (>= 2).
    The first pulse from g_min moves (g_max - g_min) / n_pulses."""
    asymmetry: float = 0.0
    """Relative up/down step difference: ``alpha_up = alpha (1 + a)``, ``alpha_down = alpha (1 - a)``; in [-0.99, 0.99]."""
    sigma_c2c: float = 0.0
    """Cycle-to-cycle noise per pulse, relative to (g_max - g_min); in [0, 1]."""
    d2d_step: float = 0.0
    """Device-to-device relative std of the step (alpha); in [0, 1]."""
    d2d_asymmetry: float = 0.0
    """Device-to-device absolute std of the asymmetry; in [0, 1]."""
    d2d_bounds: float = 0.0
    """Device-to-device relative std of g_min and g_max; in [0, 0.5]."""
    c2c_noise: str = "additive"
    """``"additive"``: sigma_c2c is relative to (g_max - g_min); ``"multiplicative"``: relative to
    each pulse's own step (vanishes at the bound it approaches)."""

    def __post_init__(self) -> None:
        if self.c2c_noise not in ("additive", "multiplicative"):
            raise ValueError(f"c2c_noise must be 'additive' or 'multiplicative', got {self.c2c_noise!r}")
        check_bounds(self.g_min, self.g_max, self.d2d_bounds)
        check_count("n_pulses", self.n_pulses, 2, 1e7)
        check_range("asymmetry", self.asymmetry, -0.99, 0.99)
        check_range("sigma_c2c", self.sigma_c2c, 0.0, 1.0)
        check_range("d2d_step", self.d2d_step, 0.0, 1.0)
        check_range("d2d_asymmetry", self.d2d_asymmetry, 0.0, 1.0)

    def sample(self, shape, generator, device=None, dtype=torch.float32) -> dict[str, Tensor]:
        g_min, g_max = spread_bounds(self.g_min, self.g_max, self.d2d_bounds, shape, generator, device, dtype)
        alpha = spread(1.0 / self.n_pulses, self.d2d_step, shape, generator, device, dtype, minimum=1e-7).clamp_max(0.5)
        asym = spread_asymmetry(self.asymmetry, self.d2d_asymmetry, shape, generator, device, dtype)
        a_up = (alpha * (1 + asym)).clamp(1e-7, 0.999)
        a_down = (alpha * (1 - asym)).clamp(1e-7, 0.999)
        lk_up, lk_down = torch.log1p(-a_up), torch.log1p(-a_down)
        if self.c2c_noise == "multiplicative":
            params = saturating_params(g_min, g_max, g_max.clone(), g_min.clone(), lk_up, lk_down, torch.zeros_like(g_min))
            return {**params, **multiplicative_params(lk_up, lk_down, self.sigma_c2c)}
        return saturating_params(g_min, g_max, g_max.clone(), g_min.clone(), lk_up, lk_down,
                                 self.sigma_c2c * (g_max - g_min))

    def moments(self, g: Tensor, n: Tensor, params: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        return saturating_moments(g, n, params)

    def pulse_map(self):
        return saturating_pulse_map(self.c2c_noise == "multiplicative", noisy=self.sigma_c2c > 0)

    def affine_moments(self, n: Tensor, params: dict[str, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
        return saturating_affine(n, params)

    def affine_maps(self, n: Tensor, params: dict[str, Tensor], noise: Tensor) -> tuple[Tensor, Tensor]:
        return saturating_affine_maps(n, params, noise)

    def pulse_dense(self, g, n, params, generator):
        if self.c2c_noise == "multiplicative" and self.sigma_c2c > 0:
            return PulseResponse.pulse_dense(self, g, n, params, generator)  # moments depend on g
        return saturating_pulse(g, n, params, generator, noisy=self.sigma_c2c > 0)

    def n_states(self, params: dict[str, Tensor]) -> Tensor:
        """Range over the mean of the up and down steps at mid-range, ``4 / (alpha_up + alpha_down)``."""
        a_up = -torch.expm1(directional(params, "log_keep", up=True))
        a_down = -torch.expm1(directional(params, "log_keep", up=False))
        return 4.0 / (a_up + a_down)
