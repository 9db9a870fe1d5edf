"""Programming noise: the conductance error left after a device has been programmed."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from memlearn.validation import check_range


@dataclass(frozen=True, kw_only=True)
class ProgrammingNoise:
    """Gaussian residual error of a programmed conductance,
    ``g_prog = g_target + (additive (g_max - g_min) + multiplicative |g_target|) xi``, ``xi ~ N(0, 1)``.

    Write-verify stops within a tolerance, and PCM/ReRAM conductances relax right after the last
    verify step, so the programmed state scatters around the target with a roughly constant
    (additive) and a conductance-proportional (multiplicative) part (Joshi et al., Nat. Commun.
    2020, Fig. 2: PCM programming error ~ N(0, sigma(G_T)); Le Gallo et al., IEEE TED 2018;
    aihwkit's ``PCMLikeNoiseModel.prog_coeff`` fit). The same object is used by noise-aware
    training (to draw the noise a chip will have) and by deployment (to draw the chip's error).
    """

    additive: float = 0.0
    """Std of the error relative to the device range (g_max - g_min) (dimensionless, in [0, 1])."""
    multiplicative: float = 0.0
    """Std of the error relative to the target conductance (dimensionless, in [0, 1])."""

    def __post_init__(self) -> None:
        check_range("programming_noise.additive", self.additive, 0.0, 1.0)
        check_range("programming_noise.multiplicative", self.multiplicative, 0.0, 1.0)

    def std(self, g: Tensor, g_min: Tensor | float, g_max: Tensor | float) -> Tensor:
        """Std of the programming error (S) for target conductances ``g`` (S)."""
        return self.additive * (g_max - g_min) + self.multiplicative * g.abs()

    def sample(self, g: Tensor, g_min: Tensor | float, g_max: Tensor | float, generator: torch.Generator) -> Tensor:
        """Programmed conductances (S) for targets ``g`` (any shape), clipped to ``[g_min, g_max]``.
        Gradients pass straight through the noise and the clip (for noise-aware training)."""
        noise = torch.randn(g.shape, generator=generator, device=g.device, dtype=g.dtype)
        noisy = g.detach() + self.std(g.detach(), g_min, g_max) * noise
        lo = torch.as_tensor(g_min, device=g.device, dtype=g.dtype)
        hi = torch.as_tensor(g_max, device=g.device, dtype=g.dtype)
        noisy = torch.minimum(torch.maximum(noisy, lo), hi)
        return g + (noisy - g.detach()).detach()
