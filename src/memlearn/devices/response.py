"""The pulse-response interface: what n identical programming pulses do to a conductance."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import torch
from torch import Tensor

from memlearn.devices.pulse_map import PulseMap

SPARSE_FRACTION = 0.25
"""Below this fraction of devices receiving pulses, ``pulse`` works on the pulsed devices only."""


class PulseResponse(ABC):
    """A family of conductance responses to programming pulses, vectorised over any shape.

    Implementations are frozen dataclasses (their fields are the nominal parameters and
    spreads). ``sample`` draws per-device parameters once (device-to-device variation);
    ``moments`` gives the closed-form mean and variance of the conductance after ``n``
    sequential pulses, including cycle-to-cycle noise, so that the cost does not grow with ``n``;
    ``pulse_dense`` draws one conductance with those moments. ``pulse`` dispatches to it,
    restricted to the devices that receive pulses when they are few (small-batch training).
    """

    affine: ClassVar[bool] = False
    """True when, once its noise is drawn, the n-pulse map is affine in the starting conductance
    (every one-pulse map ``g -> c - (c - g) q + noise`` composes to such a map, with additive noise
    or noise proportional to the step); :meth:`affine_maps` then lets sparse sequential writes
    precompute each write's map once (``memlearn.crossbar.Crossbar.apply_pulse_sequence``)."""

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
        """Mean and variance (S, S^2) of the conductance after ``n`` pulses from ``g``, before clipping.

        ``n`` is a signed integer tensor of ``g``'s shape (+ potentiation).
        """

    def pulse_map(self) -> PulseMap | None:
        """The declared n-pulse map (:mod:`memlearn.devices.pulse_map`) that ``Device.write`` applies:
        evaluated by torch, compiled into the write kernel on the CPU. ``None`` (the default, for a
        response that declares nothing) makes every write use :meth:`pulse_dense` in torch."""
        return None

    def affine_moments(self, n: Tensor, params: dict[str, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
        """For an :attr:`affine` response: ``(a, b, var)`` with ``mean(g) = g + a g + b`` and the
        ``g``-independent (additive) variance ``var`` after ``n`` pulses from any ``g``, from :meth:`moments` at ``g_min`` and
        ``g_max`` (exact for an affine map; in difference form so that ``a = 0`` stays exact for a
        constant step)."""
        if not self.affine:
            raise TypeError(f"{type(self).__name__} does not declare an affine n-pulse map (affine = False); "
                            f"use pulse_dense")
        g0, g1 = params["g_min"], params["g_max"]
        m0, var = self.moments(g0, n, params)
        m1, _ = self.moments(g1, n, params)
        d0 = m0 - g0
        a = (m1 - g1 - d0) / (g1 - g0)
        return a, d0 - a * g0, var

    def affine_maps(self, n: Tensor, params: dict[str, Tensor], noise: Tensor) -> tuple[Tensor, Tensor]:
        """For an :attr:`affine` response: the n-pulse map ``g -> g + a g + b`` of every event with
        its cycle-to-cycle noise drawn from the standard normals ``noise``; the result is then only
        clipped to the bounds. By default ``b`` gets ``sqrt(var) noise`` of :meth:`affine_moments`
        (noise that does not depend on ``g``)."""
        a, b, var = self.affine_moments(n, params)
        return a, torch.addcmul(b, var.clamp_min(0).sqrt(), noise)

    def pulse_dense(self, g: Tensor, n: Tensor, params: dict[str, Tensor], generator: torch.Generator) -> Tensor:
        """Conductance after ``n`` pulses for every device: a Gaussian draw with the exact n-pulse
        mean and variance, clipped to the device's bounds; devices with ``n == 0`` keep ``g``."""
        mean, var = self.moments(g, n, params)
        noise = torch.randn(g.shape, generator=generator, device=g.device, dtype=g.dtype)
        out = mean + var.clamp_min(0).sqrt() * noise
        out = torch.minimum(torch.maximum(out, params["g_min"]), params["g_max"])
        return torch.where(n == 0, g, out)

    def pulse(self, g: Tensor, n: Tensor, params: dict[str, Tensor], generator: torch.Generator) -> Tensor:
        """Conductance after ``n`` (signed integer tensor, + = potentiate) pulses. Never mutates
        its inputs; the result is a new tensor of ``g``'s shape, dtype and device."""
        if n.shape != g.shape:
            n = n.expand(g.shape)
        if g.numel() == 0:
            return g.clone()
        # Estimate the pulsed fraction on a strided sample: counting every entry costs as much as
        # a third of the dense update itself. The estimate only chooses the path, never the result.
        flat_n = n.reshape(-1)
        stride = max(1, flat_n.numel() // 4096)
        fraction = float((flat_n[::stride] != 0).float().mean())
        if fraction >= SPARSE_FRACTION or any(p.shape != g.shape for p in params.values()):
            return self.pulse_dense(g, n, params, generator)
        idx = (flat_n != 0).nonzero().squeeze(1)
        if idx.numel() == 0:
            return g.clone()
        sub = {k: v.reshape(-1).index_select(0, idx) for k, v in params.items()}
        g_flat = g.reshape(-1)
        new = self.pulse_dense(g_flat.index_select(0, idx), flat_n.index_select(0, idx), sub, generator)
        return g_flat.index_copy(0, idx, new).reshape(g.shape)

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
