"""Read noise: the conductance a read sees fluctuates around the programmed one."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from memlearn.validation import check_range


@dataclass(frozen=True, kw_only=True)
class ReadNoise:
    """Gaussian read noise, ``g_read = g + sigma(g) xi``, with
    ``sigma(g) = relative * g + absolute * g_max`` (conductance dependent; 1/f-type read noise in
    PCM scales with g: Nandakumar et al., J. Appl. Phys. 2018; Joshi et al., Nat. Commun. 2020).
    """

    relative: float = 0.02
    """Std of read noise relative to the conductance being read (dimensionless, >= 0)."""
    absolute: float = 0.0
    """Std of read noise relative to the device's g_max, independent of g (dimensionless, >= 0)."""

    def __post_init__(self) -> None:
        check_range("read_noise.relative", self.relative, 0.0, 10.0)
        check_range("read_noise.absolute", self.absolute, 0.0, 10.0)

    def std(self, g: Tensor, g_max: Tensor) -> Tensor:
        return self.relative * g.abs() + self.absolute * g_max

    def apply(self, g: Tensor, g_max: Tensor, generator: torch.Generator) -> Tensor:
        noise = torch.randn(g.shape, generator=generator, device=g.device, dtype=g.dtype)
        return g + self.std(g, g_max) * noise
