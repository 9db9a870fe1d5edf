"""Linear-step response: a constant step per pulse, different up and down, hard bounds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from memlearn.devices import map_ops as ops
from memlearn.devices.pulse_map import PulseMap
from memlearn.devices.response import PulseResponse
from memlearn.devices.validation import check_bounds
from memlearn.validation import check_count, check_range
from memlearn.devices.variability import spread, spread_asymmetry, spread_bounds


def linear_step_map(n, xi, p):
    """n pulses: ``b = n dg + |n| dg a + sqrt(|n|) s xi`` (``p = (dg, dg a, s)``: step mid, half and
    the per-pulse noise std), ``a = 0``; the closed form of :meth:`LinearStep.moments`."""
    na = ops.absolute(n)
    return 0.0 * n, n * p[0] + na * p[1] + ops.sqrt(na) * p[2] * xi


@dataclass(frozen=True, kw_only=True)
class LinearStep(PulseResponse):
    """Constant step with up/down asymmetry and hard bounds.

    One pulse: ``g <- clip(g + dg_up + s xi)`` (up) or ``clip(g - dg_down + s xi)`` (down), with
    ``dg_up = dg (1 + asymmetry)``, ``dg_down = dg (1 - asymmetry)``, ``dg = (g_max - g_min) / states``
    and additive cycle-to-cycle noise ``s = sigma_c2c (g_max - g_min)`` (NeuroSim's convention,
    Chen, Peng & Yu, IEEE TCAD 2018). n pulses in closed form: mean ``g + n dg_dir``, variance
    ``|n| s^2`` (clipped once at the end; identical to the pulse-by-pulse loop away from the bounds).
    This is the "linear step" device of Gokmen & Vlasov, Front. Neurosci. 2016 (their Table 1:
    up/down imbalance, step d2d variation, bounds d2d variation) and aihwkit's ``LinearStepDevice``
    without its soft-bound term.
    """

    affine: ClassVar[bool] = True

    g_min: float = 1e-6
    """Minimum conductance (S, > 0)."""
    g_max: float = 1e-5
    """Maximum conductance (S, > g_min)."""
    states: int = 100
    """Nominal number of steps from g_min to g_max (>= 1)."""
    asymmetry: float = 0.0
    """Relative up/down step imbalance: dg_up = dg (1 + a), dg_down = dg (1 - a); in [-0.99, 0.99]."""
    sigma_c2c: float = 0.0
    """Cycle-to-cycle std per pulse, relative to (g_max - g_min); in [0, 1]."""
    d2d_step: float = 0.0
    """Device-to-device relative std of dg; in [0, 1]."""
    d2d_asymmetry: float = 0.0
    """Device-to-device absolute std of the asymmetry; in [0, 1]."""
    d2d_bounds: float = 0.0
    """Device-to-device relative std of g_min and g_max; in [0, 0.5]."""

    def __post_init__(self) -> None:
        check_bounds(self.g_min, self.g_max, self.d2d_bounds)
        check_count("states", self.states, 1, 1e9)
        check_range("asymmetry", self.asymmetry, -0.99, 0.99)
        check_range("sigma_c2c", self.sigma_c2c, 0.0, 1.0)
        check_range("d2d_step", self.d2d_step, 0.0, 1.0)
        check_range("d2d_asymmetry", self.d2d_asymmetry, 0.0, 1.0)

    def sample(self, shape, generator, device=None, dtype=torch.float32) -> dict[str, Tensor]:
        g_min, g_max = spread_bounds(self.g_min, self.g_max, self.d2d_bounds, shape, generator, device, dtype)
        span = g_max - g_min
        dg = spread(1.0 / self.states, self.d2d_step, shape, generator, device, dtype, minimum=1e-9) * span
        asym = spread_asymmetry(self.asymmetry, self.d2d_asymmetry, shape, generator, device, dtype)
        # Stored as mid/half (``step = dg + sign(n) dg a``): a fused select, see ``_saturating``.
        return {"g_min": g_min, "g_max": g_max, "step_mid": dg, "step_half": dg * asym,
                "sigma": self.sigma_c2c * span}

    def moments(self, g: Tensor, n: Tensor, params: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        nf = n.to(g.dtype)
        return g + nf * params["step_mid"] + nf.abs() * params["step_half"], nf.abs() * params["sigma"] ** 2

    def pulse_map(self) -> PulseMap:
        return PulseMap(linear_step_map, ("step_mid", "step_half", "sigma"), noisy=self.sigma_c2c > 0)

    def affine_moments(self, n: Tensor, params: dict[str, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
        """``a = 0``, ``b = n dg_dir``, ``var = |n| s^2``: the closed form of :meth:`moments`."""
        nf = n.to(params["step_mid"].dtype)
        na = nf.abs()
        return torch.zeros_like(nf), torch.addcmul(nf * params["step_mid"], na, params["step_half"]), na * params["sigma"] ** 2

    def pulse_dense(self, g, n, params, generator):
        nf = n.to(g.dtype)
        na = nf.abs()
        out = torch.addcmul(g, nf, params["step_mid"]).addcmul_(na, params["step_half"])
        if self.sigma_c2c > 0:
            out.addcmul_(na.sqrt_().mul_(params["sigma"]), nf.normal_(generator=generator))
        out = torch.minimum(out, params["g_max"], out=out)
        out = torch.maximum(out, params["g_min"], out=out)
        return torch.where(n == 0, g, out)

    def n_states(self, params: dict[str, Tensor]) -> Tensor:
        """Range over the larger of the two steps: the levels both directions can resolve."""
        return (params["g_max"] - params["g_min"]) / (params["step_mid"] + params["step_half"].abs())
