"""The pulse-response interface: what n identical programming pulses do to a conductance."""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import Tensor


class PulseResponse(ABC):
    """A family of conductance responses to programming pulses, vectorised over any shape.

    Implementations are frozen dataclasses (their fields are the nominal
    parameters and spreads). ``sample`` draws per-device parameters once
    (device-to-device variation); ``moments`` gives the closed-form mean and
    variance of the conductance after ``n`` sequential pulses, including
    cycle-to-cycle noise, so that the cost does not grow with ``n``.
    """

    g_min: float
    """Nominal minimum conductance (S); every implementation has this field."""
    g_max: float
    """Nominal maximum conductance (S); every implementation has this field."""

    @abstractmethod
    def sample(self, shape: torch.Size | tuple[int, ...], generator: torch.Generator,
               device: torch.device | str | None = None, dtype: torch.dtype = torch.float32) -> dict[str, Tensor]:
        """Per-device parameters, each a tensor of ``shape``; must include ``g_min`` and ``g_max`` (S)."""

    @abstractmethod
    def moments(self, g: Tensor, n: Tensor, params: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        """Mean and variance (S, S^2) of the conductance after ``n`` pulses from ``g``.

        ``n`` is a signed integer tensor broadcastable to ``g`` (+ potentiation).
        """

    def pulse(self, g: Tensor, n: Tensor, params: dict[str, Tensor], generator: torch.Generator) -> Tensor:
        """Conductance after ``n`` pulses: a Gaussian draw with the exact n-pulse mean and
        variance, clipped to the device's bounds. Never mutates its inputs."""
        mean, var = self.moments(g, n, params)
        noise = torch.randn(g.shape, generator=generator, device=g.device, dtype=g.dtype)
        out = mean + var.clamp_min(0).sqrt() * noise
        out = torch.minimum(torch.maximum(out, params["g_min"]), params["g_max"])
        return torch.where(n == 0, g, out)

    def initial(self, params: dict[str, Tensor]) -> Tensor:
        """Conductance of a fresh (reset) device: ``g_min``."""
        return params["g_min"].clone()

    @abstractmethod
    def n_states(self, params: dict[str, Tensor]) -> Tensor:
        """Number of distinguishable states between g_min and g_max, per device."""

    def step_at(self, g: Tensor, params: dict[str, Tensor], up: bool = True) -> Tensor:
        """Expected conductance change of one pulse from ``g`` (S)."""
        n = torch.ones_like(g, dtype=torch.int32) if up else -torch.ones_like(g, dtype=torch.int32)
        return self.moments(g, n, params)[0] - g
