"""Ideal response: the baseline with no non-ideality."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from memlearn.devices.pulse_map import PulseMap
from memlearn.devices.response import PulseResponse
from memlearn.validation import check_count, check_order, check_positive


def ideal_map(n, xi, p):
    """n pulses: ``g + n dg`` (``p = (dg,)``), noiseless."""
    return 0.0 * n, n * p[0]


@dataclass(frozen=True, kw_only=True)
class Ideal(PulseResponse):
    """Ideal device: every pulse moves the conductance by exactly ``(g_max - g_min) / n_states``,
    symmetric, noiseless, no device-to-device spread, hard bounds.

    This is the resistive processing unit of Gokmen & Vlasov, Front. Neurosci. 2016 in its limit
    of perfect symmetry: ``g_n = clip(g_0 + n * dg, g_min, g_max)``. With ``n_states`` large it is
    the float baseline.
    """

    affine: ClassVar[bool] = True

    g_min: float = 1e-6
    """Minimum conductance (S)."""
    g_max: float = 1e-5
    """Maximum conductance (S)."""
    states: int = 1000
    """Number of equal steps between g_min and g_max (>= 1)."""

    def __post_init__(self) -> None:
        check_positive("g_min", self.g_min)
        check_order("g_min", self.g_min, "g_max", self.g_max)
        check_count("states", self.states, 1, 1e9)

    def sample(self, shape, generator, device=None, dtype=torch.float32) -> dict[str, Tensor]:
        full = lambda v: torch.full(tuple(shape), float(v), device=device, dtype=dtype)
        return {"g_min": full(self.g_min), "g_max": full(self.g_max),
                "step": full((self.g_max - self.g_min) / self.states)}

    def moments(self, g: Tensor, n: Tensor, params: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        return g + n.to(g.dtype) * params["step"], torch.zeros_like(g)

    def pulse_map(self) -> PulseMap:
        return PulseMap(ideal_map, ("step",), noisy=False)

    def pulse_dense(self, g, n, params, generator):
        out = torch.addcmul(g, n.to(g.dtype), params["step"])
        return torch.minimum(torch.maximum(out, params["g_min"]), params["g_max"])

    def n_states(self, params: dict[str, Tensor]) -> Tensor:
        return (params["g_max"] - params["g_min"]) / params["step"]
