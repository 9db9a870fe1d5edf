"""Conductance drift: the programmed conductance decays as a power law of time."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from memlearn.validation import check_positive, check_range


@dataclass(frozen=True, kw_only=True)
class Drift:
    """Power-law drift ``G(t) = G(t0) (t / t0)^(-nu)`` for ``t > t0``, with ``nu`` drawn per device
    from ``N(nu_mean, nu_std)`` (clipped at 0).

    Source: Ielmini et al., IEEE TED 2007 (structural relaxation in PCM); device-to-device spread
    of nu as in Joshi et al., Nat. Commun. 2020 (nu ~ 0.05 +- 0.02 for their PCM).
    """

    nu_mean: float = 0.05
    """Mean drift exponent (dimensionless, >= 0)."""
    nu_std: float = 0.0
    """Device-to-device std of the drift exponent (absolute, >= 0)."""
    t0: float = 1.0
    """Reference time after programming at which G(t0) is the programmed value (s, > 0)."""

    def __post_init__(self) -> None:
        check_range("drift.nu_mean", self.nu_mean, 0.0, 1.0)
        check_range("drift.nu_std", self.nu_std, 0.0, 1.0)
        check_positive("drift.t0", self.t0)

    def sample_nu(self, shape, generator, device=None, dtype=torch.float32) -> Tensor:
        nu = torch.full(tuple(shape), self.nu_mean, device=device, dtype=dtype)
        if self.nu_std > 0:
            nu = nu + self.nu_std * torch.randn(tuple(shape), generator=generator, device=device, dtype=dtype)
        return nu.clamp_min(0.0)

    def apply(self, g: Tensor, nu: Tensor, t: float) -> Tensor:
        if t <= self.t0:
            return g
        return g * torch.pow(torch.as_tensor(t / self.t0, dtype=g.dtype, device=g.device), -nu)
