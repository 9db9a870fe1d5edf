"""Nonlinear LTP/LTD: NeuroSim's saturating-exponential weight-update curves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from memlearn.devices.response import PulseResponse
from memlearn.devices.responses._nonlinearity import NL_MAX, normalized_a_tensor
from memlearn.devices.responses._saturating import (saturating_affine, saturating_affine_maps, saturating_moments,
                                                     saturating_params, saturating_pulse, saturating_pulse_map)
from memlearn.devices.variability import spread, spread_bounds
from memlearn.devices.validation import check_bounds
from memlearn.validation import check_count, check_range


@dataclass(frozen=True, kw_only=True)
class ExpLtpLtd(PulseResponse):
    """Exponential LTP/LTD curves ``G(P) = B (1 - exp(-P/A)) + G_min`` with separate A for
    potentiation and depression, parameterised by NeuroSim's nonlinearity labels.

    Source: Chen, Peng & Yu, "NeuroSim: a circuit-level macro model for benchmarking
    neuro-inspired architectures in online learning", IEEE TCAD 2018, Eq. (1)-(3); MLP+NeuroSim
    V3.0 user manual, Section 9, Table II (device parameters). ``A = a(NL) N`` with ``a(NL)`` the
    normalised parameter of NeuroSim's nonlinearity table (closed form in ``_nonlinearity.py``),
    ``B = (G_max - G_min) / (1 - exp(-N/A))`` so that N pulses span the range exactly.

    A potentiation pulse moves one step right on the LTP curve, a depression pulse one step left
    on the LTD curve (NeuroSim's ``RealDevice::Write``). In conductance space both are affine,
    ``G <- G_inf - (G_inf - G) q``, toward the virtual asymptote ``G_inf = G_min + B``:
    ``q = exp(-1/A_ltp)`` up, ``q = exp(+1/A_ltd)`` down. So n pulses compose in closed form
    (as for soft bounds) and are clipped to [G_min, G_max]. Sign convention as in NeuroSim:
    a positive LTP label gives large steps near G_min that shrink toward G_max; a negative LTD
    label gives large depression steps near G_max that shrink toward G_min (the usual
    saturating depression); the opposite signs bend the curves the other way.

    Cycle-to-cycle noise: additive Gaussian, ``sigma_c2c (G_max - G_min)`` per pulse (NeuroSim's
    ``sigmaCtoC``). Device-to-device: absolute Gaussian spread of the NL labels (NeuroSim's
    ``sigmaDtoD``), relative spread of G_min/G_max and of the step (the number of pulses N).
    """

    affine: ClassVar[bool] = True

    g_min: float = 3.0769e-9
    """Minimum conductance (S, > 0)."""
    g_max: float = 3.8462e-8
    """Maximum conductance (S, > g_min)."""
    n_ltp: int = 97
    """Potentiation pulses that take G_min to G_max (NeuroSim's maxNumLevelLTP; >= 1)."""
    n_ltd: int = 100
    """Depression pulses that take G_max to G_min (maxNumLevelLTD; >= 1)."""
    nonlinearity_ltp: float = 2.4
    """NeuroSim nonlinearity label of the LTP curve (dimensionless, in [-9, 9]; |NL| < 0.001 is linear)."""
    nonlinearity_ltd: float = -4.88
    """NeuroSim nonlinearity label of the LTD curve (in [-9, 9]; negative = saturating depression)."""
    sigma_c2c: float = 0.0
    """Cycle-to-cycle std per pulse, relative to (G_max - G_min); in [0, 1]."""
    d2d_nonlinearity: float = 0.0
    """Device-to-device absolute std of both NL labels (NeuroSim's sigmaDtoD); in [0, 5]."""
    d2d_step: float = 0.0
    """Device-to-device relative std of the pulse counts N (hence of the step size); in [0, 0.5]."""
    d2d_bounds: float = 0.0
    """Device-to-device relative std of G_min and G_max; in [0, 0.5]."""

    def __post_init__(self) -> None:
        check_bounds(self.g_min, self.g_max, self.d2d_bounds)
        check_count("n_ltp", self.n_ltp, 1, 1e7)
        check_count("n_ltd", self.n_ltd, 1, 1e7)
        check_range("nonlinearity_ltp", self.nonlinearity_ltp, -NL_MAX, NL_MAX)
        check_range("nonlinearity_ltd", self.nonlinearity_ltd, -NL_MAX, NL_MAX)
        check_range("sigma_c2c", self.sigma_c2c, 0.0, 1.0)
        check_range("d2d_nonlinearity", self.d2d_nonlinearity, 0.0, 5.0)
        check_range("d2d_step", self.d2d_step, 0.0, 0.5)

    def _label(self, nominal: float, shape, generator, device, dtype) -> Tensor:
        nl = torch.full(tuple(shape), float(nominal), device=device, dtype=dtype)
        if self.d2d_nonlinearity > 0:
            nl = nl + self.d2d_nonlinearity * torch.randn(tuple(shape), generator=generator, device=device, dtype=dtype)
        return nl.clamp(-NL_MAX, NL_MAX)

    def sample(self, shape, generator, device=None, dtype=torch.float32) -> dict[str, Tensor]:
        g_min, g_max = spread_bounds(self.g_min, self.g_max, self.d2d_bounds, shape, generator, device, dtype)
        span = g_max - g_min
        # Computed in float64: B can exceed the range by 100x for nearly linear curves.
        n_ltp = spread(self.n_ltp, self.d2d_step, shape, generator, device, torch.float64, minimum=1.0)
        n_ltd = spread(self.n_ltd, self.d2d_step, shape, generator, device, torch.float64, minimum=1.0)
        a_ltp = normalized_a_tensor(self._label(self.nonlinearity_ltp, shape, generator, device, torch.float64)) * n_ltp
        a_ltd = normalized_a_tensor(self._label(self.nonlinearity_ltd, shape, generator, device, torch.float64)) * n_ltd
        s64 = span.to(torch.float64)
        b_ltp = s64 / (-torch.expm1(-n_ltp / a_ltp))
        b_ltd = s64 / (-torch.expm1(-n_ltd / a_ltd))
        g0 = g_min.to(torch.float64)
        params = saturating_params(g_min, g_max, (g0 + b_ltp).to(dtype), (g0 + b_ltd).to(dtype),
                                   (-1.0 / a_ltp).to(dtype), (1.0 / a_ltd).to(dtype), self.sigma_c2c * span)
        params["pulses_ltp"] = n_ltp.to(dtype)
        params["pulses_ltd"] = n_ltd.to(dtype)
        return params

    def moments(self, g: Tensor, n: Tensor, params: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        return saturating_moments(g, n, params)

    def pulse_map(self):
        return saturating_pulse_map(False, noisy=self.sigma_c2c > 0)

    def affine_moments(self, n: Tensor, params: dict[str, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
        return saturating_affine(n, params)

    def affine_maps(self, n: Tensor, params: dict[str, Tensor], noise: Tensor) -> tuple[Tensor, Tensor]:
        return saturating_affine_maps(n, params, noise)

    def pulse_dense(self, g, n, params, generator):
        return saturating_pulse(g, n, params, generator, noisy=self.sigma_c2c > 0)

    def n_states(self, params: dict[str, Tensor]) -> Tensor:
        """NeuroSim's "levels": the pulses needed to span the range, the fewer of LTP and LTD."""
        return torch.minimum(params["pulses_ltp"], params["pulses_ltd"])
