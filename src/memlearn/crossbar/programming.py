"""Programming strategies: drive a crossbar's conductances to targets with counted pulses.

One pulse-and-verify loop (:func:`program_verify`) serves every strategy; a strategy is the
:class:`PulseChoice` that decides each round's pulse counts from what the verify read saw.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch
from torch import Tensor

from memlearn.crossbar.crossbar import Crossbar
from memlearn.devices.state import FREE, DeviceState
from memlearn.validation import check_range

ONE_SHOT_BANDS = (0.5, 0.1)
"""Relative bands of the one-shot figures: |g - g_target| <= band * g_target after one attempt."""


@dataclass(frozen=True)
class ProgramResult:
    """Outcome of programming a crossbar or a tile."""

    pulses: int
    """Programming pulses applied (all devices, all iterations)."""
    iterations: int
    """Pulse rounds used (writes between verify reads)."""
    weight_error: float
    """RMS error of the programmed quantity after programming: conductance (S) for a crossbar,
    weight (the layer's weight units) for a tile; read without noise."""
    converged: float = 1.0
    """Fraction of devices within the strategy's tolerance at the end (0..1)."""
    reads: int = 0
    """Verify reads of the whole array (the first read before any pulse included)."""
    write_time: float = 0.0
    """Simulated programming time (s): per write, the largest per-device pulse count x pulse width
    (all devices pulsed in parallel, ``CostConfig.write_pulse_width``)."""
    read_time: float = 0.0
    """Simulated verify time (s): per read, ``rows x (t_read + cols / (adc_per_array adc_rate))``
    (one word line at a time, its bit lines converted by the array's ADCs)."""
    write_energy: float = 0.0
    """Programming energy (J): ``V^2 G t_pulse`` per pulse (``PulseCounter``)."""
    read_energy: float = 0.0
    """Verify energy (J): one ADC conversion per device per read (``CostConfig.adc_energy``); the
    ohmic read energy is ~40x smaller at 0.2 V and is left out."""
    one_shot_50: float = 0.0
    """Fraction of free devices within +-50% of their target conductance after the first pulse round."""
    one_shot_10: float = 0.0
    """The same within +-10%."""

    @property
    def time(self) -> float:
        """Total simulated programming time (s)."""
        return self.write_time + self.read_time

    @property
    def energy(self) -> float:
        """Total programming energy (J)."""
        return self.write_energy + self.read_energy


def one_shot_fractions(g: Tensor, target: Tensor, free: Tensor) -> tuple[float, float]:
    """Fractions of free devices with ``|g - target| <= b target`` for each band ``b`` of
    :data:`ONE_SHOT_BANDS` (Yu et al., arXiv 2403.06712, 2024: ~95% within +-50% in one attempt)."""
    rel = ((g - target).abs() / target.abs().clamp_min(torch.finfo(g.dtype).tiny))[free]
    n = max(int(rel.numel()), 1)
    return tuple(float((rel <= b).sum()) / n for b in ONE_SHOT_BANDS)


class PulseChoice(ABC):
    """How one round's pulses are chosen from a verify read: the policy of :func:`program_verify`."""

    @abstractmethod
    def writes(self, crossbar: Crossbar, g_read: Tensor, target: Tensor, shot: int) -> list[Tensor]:
        """Signed pulse counts (float or int, (rows, cols)) of the round's writes, applied in order
        without a read in between. ``g_read``: the verify read; ``shot``: 0 for the first round.
        :func:`program_verify` rounds them, caps them at its ``max_pulses`` and writes only the
        devices still out of tolerance."""


def toward(n: Tensor, err: Tensor) -> Tensor:
    """``n`` rounded, never away from the target and at least one pulse towards it (sign of ``err``)."""
    n = torch.round(n)
    return torch.where(torch.sign(n) != torch.sign(err), torch.sign(err), n)


def _step(crossbar: Crossbar, g: Tensor, up: bool) -> Tensor:
    return crossbar.device_model.response.step_at(g, crossbar.state.params, up=up).abs()


@dataclass(frozen=True)
class SecantStep(PulseChoice):
    """``n = err / E[dg]`` with ``E[dg]`` the mean of the expected steps at the read conductance and
    at the target: the secant estimate of the pulses needed when the step depends on g (soft
    bounds, exponential LTP/LTD). Write-verify's choice (Alibart et al., Nanotechnology 2012)."""

    def writes(self, crossbar, g_read, target, shot):
        err = target - g_read
        g_now = crossbar.g
        up = _step(crossbar, g_now, True) + _step(crossbar, target, True)
        down = _step(crossbar, g_now, False) + _step(crossbar, target, False)
        return [toward(err / (0.5 * torch.where(err > 0, up, down)).clamp_min(torch.finfo(err.dtype).tiny), err)]


@dataclass(frozen=True)
class LocalStep(PulseChoice):
    """``n = err / E[dg](g)``: the local-step estimate at the present conductance."""

    def writes(self, crossbar, g_read, target, shot):
        err = target - g_read
        step = torch.where(err > 0, _step(crossbar, crossbar.g, True), _step(crossbar, crossbar.g, False))
        return [toward(err / step.clamp_min(torch.finfo(err.dtype).tiny), err)]


@dataclass(frozen=True)
class ResetThenSet(PulseChoice):
    """PCM's scheme: a device above its target gets one RESET pulse and, in the same round, the SET
    pulses that bring the expected RESET state to the target; a device below it gets SET pulses
    from where it is. SET counts are the fewest whose expected landing is nearest the target
    (closed-form n-pulse mean). As in Papandreou et al., "Programming algorithms for multilevel
    phase-change memory", ISCAS 2011: an abrupt RESET cannot be undone gradually, so overshoots
    restart from the amorphous state instead of being chased with depressing pulses."""

    max_pulses: int = 64
    """Largest SET count considered per round (>= 1)."""

    def writes(self, crossbar, g_read, target, shot):
        state, response = crossbar.state, crossbar.device_model.response
        above = target < g_read
        reset = torch.where(above, -torch.ones_like(g_read), torch.zeros_like(g_read))
        g_reset, _ = response.moments(g_read, torch.full_like(g_read, -1, dtype=torch.int32), state.params)
        start = torch.where(above, g_reset, crossbar.g)
        n_set = nearest_set(crossbar, start, target, self.max_pulses)
        # below the target: at least one SET pulse (a zero would leave the device where it is)
        return [reset, torch.where(above, n_set, n_set.clamp_min(1.0))]


def nearest_set(crossbar: Crossbar, g: Tensor, target: Tensor, max_pulses: int) -> Tensor:
    """Potentiating count in ``0..max_pulses`` whose expected landing from ``g`` is nearest ``target``."""
    state, response = crossbar.state, crossbar.device_model.response
    n = torch.arange(0, max_pulses + 1, device=g.device, dtype=torch.int32)
    shape = g.shape + (n.numel(),)
    params = {k: v.unsqueeze(-1).expand(shape) for k, v in state.params.items()}
    mean, _ = response.moments(g.unsqueeze(-1).expand(shape), n.expand(shape), params)
    return n[(mean - target.unsqueeze(-1)).abs().argmin(dim=-1)].to(g.dtype)


def verify_read_cost(crossbar: Crossbar) -> tuple[float, float]:
    """(time s, energy J) of one verify read of the whole array (see :class:`ProgramResult`)."""
    c = crossbar.pulse_counter.config
    rows, cols = crossbar.g.shape
    return (rows * (c.t_read + cols / (c.adc_per_array * c.adc_rate)),
            rows * cols * c.adc_conversion_energy(None))


@torch.no_grad()
def program_verify(crossbar: Crossbar, g_target: Tensor, generator: torch.Generator, choice: PulseChoice, *,
                   tolerance: float, max_iterations: int, max_pulses: int, noisy_verify: bool,
                   done_fraction: float = 1.0) -> ProgramResult:
    """The pulse-and-verify loop: read, stop if a ``done_fraction`` of the free devices reads within
    ``tolerance`` (relative to its range; 1.0: every one), else pulse the devices still out of it
    with ``choice``'s counts; at most ``max_iterations`` rounds. Writes only through ``crossbar.apply_pulses``; devices in the fault
    map are skipped. Counts reads, pulses, simulated time and energy, and the one-shot fractions
    after the first round."""
    if g_target.shape != crossbar.g.shape:
        raise ValueError(f"g_target has shape {tuple(g_target.shape)}, crossbar is {tuple(crossbar.g.shape)}")
    state: DeviceState = crossbar.state
    target = torch.minimum(torch.maximum(g_target.to(crossbar.g), state.g_min), state.g_max)
    tol = tolerance * (state.g_max - state.g_min)
    free = state.fault == FREE
    n_free = int(free.sum())
    before = crossbar.pulse_counter.report()
    pulses, iterations, reads = 0, 0, 0
    one_shot = (0.0, 0.0)
    for shot in range(max_iterations):
        g_read = crossbar.conductances(None, generator if noisy_verify else None)
        reads += 1
        err = target - g_read
        active = free & (err.abs() > tol)
        n_active = int(active.sum())
        if n_active == 0 or n_active <= (1.0 - done_fraction) * n_free:
            break
        iterations += 1
        for n in choice.writes(crossbar, g_read, target, shot):
            n = torch.round(n).clamp_(-max_pulses, max_pulses)
            n = torch.where(active, n, torch.zeros_like(n)).to(torch.int32)
            pulses += int(crossbar.apply_pulses(n, generator))
        if shot == 0:
            one_shot = one_shot_fractions(crossbar.g, target, free)
    if iterations == 0:
        one_shot = one_shot_fractions(crossbar.g, target, free)
    final = crossbar.g - target
    within = (final.abs() <= tol) | ~free
    after = crossbar.pulse_counter.report()
    t_read, e_read = verify_read_cost(crossbar)
    return ProgramResult(pulses=pulses, iterations=iterations, weight_error=float(final.square().mean().sqrt()),
                         converged=float(within.to(torch.float32).mean()), reads=reads,
                         write_time=after.latency_write - before.latency_write, read_time=reads * t_read,
                         write_energy=after.energy_write - before.energy_write, read_energy=reads * e_read,
                         one_shot_50=one_shot[0], one_shot_10=one_shot[1])


class Programmer(ABC):
    """A programming strategy. Implementations write only through ``crossbar.apply_pulses`` so
    every pulse is counted (energy, endurance)."""

    @abstractmethod
    def program(self, crossbar: Crossbar, g_target: Tensor, generator: torch.Generator) -> ProgramResult:
        """Drive ``crossbar.g`` towards ``g_target`` (rows, cols, S)."""


@dataclass(frozen=True, kw_only=True)
class WriteVerify(Programmer):
    """Iterative write-verify: read, compute the error, pulse, repeat until every device is within
    ``tolerance`` or ``max_iterations`` rounds have passed (:func:`program_verify`).

    Each round reads all devices (with read noise when ``noisy_verify``), converts each error into
    a pulse count with ``choice`` (by default :class:`SecantStep`, ``n = round(err / E[dg])``,
    capped at ``max_pulses``, at least one pulse towards the target), and pulses all devices still
    out of tolerance at once. The program-and-verify loop of Alibart et al., Nanotechnology 2012
    ("High precision tuning of state for memristive devices by adaptable variation-tolerant
    algorithm") and of Papandreou et al., ISCAS 2011 for PCM (use ``choice=ResetThenSet()``),
    vectorised over the array. Devices in the fault map (stuck or worn out, as a post-fabrication
    test reports) are skipped.
    """

    tolerance: float = 0.01
    """Acceptable |g - g_target| relative to the device's own range g_max - g_min (0 < tol <= 1)."""
    max_iterations: int = 50
    """Largest number of pulse-and-verify rounds (1..10000)."""
    max_pulses: int = 256
    """Largest pulse count per device per round (1..1e6)."""
    noisy_verify: bool = True
    """Verify reads see the device's read noise (as a real chip does)."""
    done_fraction: float = 1.0
    """Stop once this fraction of the free devices verifies within tolerance (0 < f <= 1; below 1 a
    fail budget for devices that cannot be tuned, e.g. nearly stuck ones the fault map misses)."""
    choice: SecantStep | LocalStep | ResetThenSet = SecantStep()
    """How each round's pulse counts are chosen (:class:`SecantStep`, :class:`LocalStep`,
    :class:`ResetThenSet` for PCM)."""

    def __post_init__(self) -> None:
        check_range("programmer.done_fraction", self.done_fraction, 1e-6, 1.0)
        check_range("programmer.tolerance", self.tolerance, 1e-9, 1.0)
        check_range("programmer.max_iterations", self.max_iterations, 1, 10000)
        check_range("programmer.max_pulses", self.max_pulses, 1, 1e6)

    def program(self, crossbar: Crossbar, g_target: Tensor, generator: torch.Generator) -> ProgramResult:
        return program_verify(crossbar, g_target, generator, self.choice, tolerance=self.tolerance,
                              max_iterations=self.max_iterations, max_pulses=self.max_pulses,
                              noisy_verify=self.noisy_verify, done_fraction=self.done_fraction)
