"""Programming strategies: drive a crossbar's conductances to targets with counted pulses."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch
from torch import Tensor

from memlearn.crossbar.crossbar import Crossbar
from memlearn.devices.state import FREE
from memlearn.devices.validation import check_range


@dataclass(frozen=True)
class ProgramResult:
    """Outcome of programming a crossbar or a tile."""

    pulses: int
    """Programming pulses applied (all devices, all iterations)."""
    iterations: int
    """Pulse-and-verify rounds used."""
    weight_error: float
    """RMS error of the programmed quantity after programming: conductance (S) for a crossbar,
    weight (the layer's weight units) for a tile; read without noise."""
    converged: float = 1.0
    """Fraction of devices within the strategy's tolerance at the end (0..1)."""


class Programmer(ABC):
    """A programming strategy. Implementations write only through ``crossbar.apply_pulses`` so
    every pulse is counted (energy, endurance)."""

    @abstractmethod
    def program(self, crossbar: Crossbar, g_target: Tensor, generator: torch.Generator) -> ProgramResult:
        """Drive ``crossbar.g`` towards ``g_target`` (rows, cols, S)."""


@dataclass(frozen=True, kw_only=True)
class WriteVerify(Programmer):
    """Iterative write-verify: read, compute the error, pulse, repeat until every device is within
    ``tolerance`` or ``max_iterations`` rounds have passed.

    Each round reads all devices (with read noise when ``noisy_verify``), converts each error
    into a pulse count with the device's expected step at its current conductance
    (``n = round(err / E[dg])`` with ``E[dg]`` the mean of the expected steps at the present and
    the target conductance, capped at ``max_pulses``), and pulses all devices still out of
    tolerance at once. This is the program-and-verify loop of Alibart et al., Nanotechnology 2012
    ("High precision tuning of state for memristive devices by adaptable variation-tolerant
    algorithm") and of Papandreou et al., ISCAS 2011 for PCM, vectorised over the array.
    Devices in the fault map (stuck or worn out, as a post-fabrication test reports) are skipped.
    """

    tolerance: float = 0.01
    """Acceptable |g - g_target| relative to the device's own range g_max - g_min (0 < tol <= 1)."""
    max_iterations: int = 50
    """Largest number of pulse-and-verify rounds (1..10000)."""
    max_pulses: int = 256
    """Largest pulse count per device per round (1..1e6)."""
    noisy_verify: bool = True
    """Verify reads see the device's read noise (as a real chip does)."""

    def __post_init__(self) -> None:
        check_range("programmer.tolerance", self.tolerance, 1e-9, 1.0)
        check_range("programmer.max_iterations", self.max_iterations, 1, 10000)
        check_range("programmer.max_pulses", self.max_pulses, 1, 1e6)

    @torch.no_grad()
    def program(self, crossbar: Crossbar, g_target: Tensor, generator: torch.Generator) -> ProgramResult:
        if g_target.shape != crossbar.g.shape:
            raise ValueError(f"g_target has shape {tuple(g_target.shape)}, crossbar is {tuple(crossbar.g.shape)}")
        state = crossbar.state
        response = crossbar.device_model.response
        target = torch.minimum(torch.maximum(g_target.to(crossbar.g), state.g_min), state.g_max)
        tol = self.tolerance * (state.g_max - state.g_min)
        free = state.fault == FREE
        pulses, iterations = 0, 0
        for _ in range(self.max_iterations):
            g_read = crossbar.conductances(None, generator if self.noisy_verify else None)
            err = target - g_read
            active = free & (err.abs() > tol)
            if not bool(active.any()):
                break
            iterations += 1
            g_now = crossbar.g
            # mean of the expected step here and at the target: the secant estimate of the pulses
            # needed when the step depends on g (soft bounds, exponential LTP/LTD)
            up = response.step_at(g_now, state.params, up=True).abs() + response.step_at(target, state.params, up=True).abs()
            down = response.step_at(g_now, state.params, up=False).abs() + response.step_at(target, state.params, up=False).abs()
            step = (0.5 * torch.where(err > 0, up, down)).clamp_min(torch.finfo(g_now.dtype).tiny)
            n = torch.round(err / step).clamp_(-self.max_pulses, self.max_pulses)
            n = torch.where(n == 0, torch.sign(err), n)
            n = torch.where(active, n, torch.zeros_like(n)).to(torch.int32)
            pulses += int(crossbar.apply_pulses(n, generator))
        final = crossbar.g - target
        within = (final.abs() <= tol) | ~free
        rms = float(final.square().mean().sqrt())
        return ProgramResult(pulses=pulses, iterations=iterations, weight_error=rms,
                             converged=float(within.to(torch.float32).mean()))
