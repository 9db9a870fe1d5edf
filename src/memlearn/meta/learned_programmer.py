"""A small neural network, trained on the device model's own behaviour, that decides programming pulses."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from memlearn.crossbar.crossbar import Crossbar
from memlearn.crossbar.programming import (LocalStep, Programmer, ProgramResult, PulseChoice, program_verify,
                                           toward)
from memlearn.devices.device import Device
from memlearn.devices.state import DeviceState
from memlearn.validation import check_range

N_FEATURES = 8


def _features(device: Device, g: Tensor, target: Tensor, state: DeviceState, max_pulses: int) -> Tensor:
    """Per-device inputs (..., 8): conductance and target normalised to the device's own range, their
    difference, the expected up/down step at ``g`` and at the target (in units of the range x 100),
    and write-verify's secant pulse estimate ``(target - g) / mean(step(g), step(target))`` (the
    network's base, / max_pulses, clipped to +-2)."""
    lo, rng = state.g_min, (state.g_max - state.g_min)
    step = lambda at, up: device.response.step_at(at, state.params, up=up).abs() / rng
    up, down, up_t, down_t = step(g, True), step(g, False), step(target, True), step(target, False)
    u, t = (g - lo) / rng, (target - lo) / rng
    secant = (0.5 * torch.where(t > u, up + up_t, down + down_t)).clamp_min(1e-9)
    base = ((t - u) / secant / max_pulses).clamp(-2, 2)
    return torch.stack([u, t, t - u, 100 * up, 100 * down, 100 * up_t, 100 * down_t, base], dim=-1)


def oracle_pulses(device: Device, g: Tensor, target: Tensor, state: DeviceState, max_pulses: int,
                  aim: float) -> Tensor:
    """Fewest signed pulses whose *expected* landing ``E[g_n]`` is within ``aim`` (S) of ``target``;
    where none is, the count whose expected landing is closest. Vectorised over devices and the
    ``2 * max_pulses + 1`` candidate counts with the response's closed-form n-pulse mean."""
    n = torch.arange(-max_pulses, max_pulses + 1, device=g.device)
    shape = g.shape + (n.numel(),)
    ex = lambda t: t.unsqueeze(-1).expand(shape)
    params = {k: ex(v) for k, v in state.params.items()}
    mean, _ = device.response.moments(ex(g), n.expand(shape).to(torch.int32), params)
    err = (mean - ex(target)).abs()
    ok = err <= ex(aim)
    fewest = torch.where(ok, n.abs().to(g.dtype).expand(shape), torch.full_like(err, float("inf"))).argmin(dim=-1)
    closest = err.argmin(dim=-1)
    return n[torch.where(ok.any(dim=-1), fewest, closest)].to(g.dtype)


def likeliest_pulses(device: Device, g: Tensor, target: Tensor, state: DeviceState, max_pulses: int,
                     band: Tensor | float) -> Tensor:
    """Signed pulses most likely to land within ``band`` (S) of ``target`` in one shot, with the
    landing ``g_n ~ N(E[g_n], Var[g_n])`` from the response's closed-form n-pulse moments (so the
    cycle-to-cycle noise that grows with the count is weighed against the bias of a short shot);
    on ties the count whose expected landing is nearest the target. Where no count has a success probability above 1e-3, the count
    of least expected squared error ``(E[g_n] - target)^2 + Var[g_n]``."""
    n = torch.arange(-max_pulses, max_pulses + 1, device=g.device)
    shape = g.shape + (n.numel(),)
    ex = lambda t: t.unsqueeze(-1).expand(shape)
    params = {k: ex(v) for k, v in state.params.items()}
    mean, var = device.response.moments(ex(g), n.expand(shape).to(torch.int32), params)
    lo, hi = ex(state.g_min), ex(state.g_max)
    mean = torch.minimum(torch.maximum(mean, lo), hi)
    std = var.clamp_min(0).sqrt().clamp_min(1e-6 * (state.g_max - state.g_min).mean())
    t = ex(target)
    b = ex(torch.as_tensor(band, dtype=g.dtype, device=g.device).expand(g.shape))
    normal = torch.distributions.Normal(0.0, 1.0)
    p = normal.cdf((t + b - mean) / std) - normal.cdf((t - b - mean) / std)
    # ties (p saturates at 1 when the noise is small): the count whose expected landing is nearest
    # the target, which keeps the most margin against the noise
    best = (p - 1e-6 * (mean - t).abs() / b).argmax(dim=-1)
    least = ((mean - t).square() + var).argmin(dim=-1)
    ok = p.amax(dim=-1) > 1e-3
    return n[torch.where(ok, best, least)].to(g.dtype)


OBJECTIVES = ("fewest", "likeliest")
"""Allowed values of ``ProgrammerTraining.objective``."""


class PulsePolicy(nn.Module):
    """``n / max_pulses = clip(base * exp(c(features)), -1, 1)``: a multiplicative correction, learned by a
    small MLP, of write-verify's secant estimate ``base = (target - g) / E[dg] / max_pulses``.

    The residual form makes far-off devices saturate at ``max_pulses`` from the start; the network only
    learns how much the secant estimate under- or overshoots (nonlinearity, device-to-device spread) and
    how far short of the target it pays to stop (the tolerance band, the noise of a long shot)."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(N_FEATURES, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                                 nn.Linear(hidden, 1))

    def forward(self, features: Tensor) -> Tensor:
        """Pulse count / max_pulses, shape ``features.shape[:-1]``."""
        c = self.mlp(features).squeeze(-1).clamp(-5.0, 5.0)
        return (features[..., -1] * torch.exp(c)).clamp(-1.0, 1.0)


@dataclass(frozen=True, kw_only=True)
class ProgrammerTraining:
    """How the programming network is trained on the device model."""

    n_samples: int = 8192
    """Simulated (device, conductance, target) triples per training set (>= 64)."""
    steps: int = 1500
    """Adam steps (>= 1)."""
    hidden: int = 32
    """Hidden units of the two-layer MLP (>= 4)."""
    lr: float = 0.01
    """Adam learning rate (> 0)."""
    tolerance: float = 0.01
    """Tolerance the programmer works to, relative to the device range (as ``WriteVerify.tolerance``)."""
    aim: float = 0.5
    """The network is taught to land within ``aim * tolerance`` of the target in expectation (0 < aim <= 1):
    below 1 it leaves room for cycle-to-cycle noise, above 0 it saves the pulses write-verify spends
    aiming at the exact centre."""
    max_pulses: int = 256
    """Largest pulse count per device per shot (>= 1; write-verify's default)."""
    objective: str = "fewest"
    """What the network imitates: ``"fewest"`` = :func:`oracle_pulses` (fewest pulses landing within
    ``aim * tolerance`` in expectation); ``"likeliest"`` = :func:`likeliest_pulses` (the count most
    likely to land within ``tolerance``, cycle-to-cycle noise included; ``aim`` unused)."""

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective={self.objective!r} must be one of {OBJECTIVES}")
        check_range("n_samples", self.n_samples, 64, 1e8)
        check_range("steps", self.steps, 1, 1e7)
        check_range("hidden", self.hidden, 4, 4096)
        check_range("lr", self.lr, 1e-9, 10.0)
        check_range("tolerance", self.tolerance, 1e-9, 1.0)
        check_range("aim", self.aim, 1e-6, 1.0)
        check_range("max_pulses", self.max_pulses, 1, 4096)


def train_policy(device: Device, config: ProgrammerTraining, generator: torch.Generator) -> nn.Module:
    """Fit a :class:`PulsePolicy` to the oracle pulse counts (:func:`oracle_pulses`, landing within
    ``aim * tolerance``) of devices drawn from ``device`` (device-to-device spread included), from
    random conductances and targets, half of them already near their target as in later shots.

    Supervised imitation of the model-based optimum, in the spirit of learned programming with a
    neural network that predicts each device's programming pulse (Yu et al. 2024, ~95% of devices
    within +-50% of target in one shot); here the network corrects write-verify's local-step estimate
    for the device's nonlinearity and is applied shot after shot with verification."""
    n = config.n_samples
    state = device.sample((n,), generator)
    rng = state.g_max - state.g_min
    g = state.g_min + torch.rand(n, generator=generator) * rng
    target = state.g_min + torch.rand(n, generator=generator) * rng
    # Half the samples sit near their target, as later shots do.
    near = torch.rand(n, generator=generator) < 0.5
    g = torch.where(near, (target + 0.05 * rng * torch.randn(n, generator=generator)).clamp(state.g_min, state.g_max), g)
    if config.objective == "likeliest":
        y = likeliest_pulses(device, g, target, state, config.max_pulses, config.tolerance * rng)
    else:
        y = oracle_pulses(device, g, target, state, config.max_pulses, config.aim * config.tolerance * rng)
    y = y / config.max_pulses
    x = _features(device, g, target, state, config.max_pulses)
    net = PulsePolicy(config.hidden)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_((torch.rand(p.shape, generator=generator) * 2 - 1) / max(p.shape[-1], 1) ** 0.5)
        net.mlp[-1].weight.mul_(0.01)
        net.mlp[-1].bias.zero_()
    # The correction is fitted in log space, log(y / base), where the oracle and the base agree in
    # sign: every count then weighs by its relative error (a squared error on y / max_pulses would
    # ignore a 30% miss on a 10-pulse shot next to a 1% miss on a 500-pulse one). Elsewhere (the
    # oracle says stop, or pulse the other way) a squared error on the count itself.
    base = x[:, -1]
    logable = (y * base > 0) & (y.abs() < 1.0)
    log_ratio = torch.where(logable, (y / torch.where(logable, base, torch.ones_like(base))).abs().log(),
                            torch.zeros_like(y))
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    for step in range(config.steps):
        idx = torch.randint(n, (2048,), generator=generator)
        xi, li, yi = x[idx], logable[idx], y[idx]
        c = net.mlp(xi).squeeze(-1)
        count_err = (net(xi) - yi).square()
        # Huber in log space: a few oracle counts sit far from the base (clipped landings, devices
        # whose step hardly moves) and would otherwise dominate the fit
        log_err = nn.functional.smooth_l1_loss(c, log_ratio[idx], reduction="none", beta=0.1)
        loss = torch.where(li, log_err, count_err * config.max_pulses).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return net.requires_grad_(False)


@dataclass(frozen=True, eq=False)
class LearnedChoice(PulseChoice):
    """The network's pulse counts for the first ``learned_shots`` rounds, then write-verify's
    local-step counts ``err / E[dg](g)``; never away from the target, at least one pulse towards it."""

    policy: nn.Module
    """The trained network (features -> pulses / max_pulses)."""
    max_pulses: int
    """The network's output scale (pulses)."""
    learned_shots: int
    """Rounds whose counts the network decides."""

    def writes(self, crossbar: Crossbar, g_read: Tensor, target: Tensor, shot: int) -> list[Tensor]:
        if shot >= self.learned_shots:
            return LocalStep().writes(crossbar, g_read, target, shot)
        feats = _features(crossbar.device_model, g_read, target, crossbar.state, self.max_pulses)
        n = self.policy.to(crossbar.g.device)(feats) * self.max_pulses
        return [toward(n, target - g_read)]


@dataclass(frozen=True)
class LikeliestChoice(PulseChoice):
    """The model-based optimum the network imitates (``objective="likeliest"``), computed exactly
    every round with the device's own parameters: the reference that bounds what the learned
    programmer can save (:func:`likeliest_pulses` over all counts, at the verify read)."""

    tolerance: float
    """Band, relative to each device's range."""
    max_pulses: int
    """Largest count considered."""

    def writes(self, crossbar: Crossbar, g_read: Tensor, target: Tensor, shot: int) -> list[Tensor]:
        st = crossbar.state
        n = likeliest_pulses(crossbar.device_model, g_read, target, st, self.max_pulses,
                             self.tolerance * (st.g_max - st.g_min))
        return [toward(n, target - g_read)]


@dataclass(frozen=True, kw_only=True, eq=False)
class LearnedProgrammer(Programmer):
    """Programs with pulse counts predicted by a trained network for the first ``learned_shots`` shots,
    then write-verify's local-step counts, verifying after each shot like write-verify (same loop,
    :func:`~memlearn.crossbar.programming.program_verify`: same tolerance, same read noise), until
    every free device is within tolerance or ``max_iterations`` shots have passed. With
    ``max_iterations=1`` it is the learned programmer alone (one shot, no verify).
    Build it with :func:`train_programmer`."""

    policy: nn.Module = field(repr=False)
    """The trained network (features -> pulses / max_pulses)."""
    tolerance: float = 0.01
    """Acceptable |g - g_target| relative to the device's range (0 < tol <= 1)."""
    max_iterations: int = 50
    """Largest number of shots (1..10000; write-verify's default)."""
    max_pulses: int = 256
    """Largest pulse count per device per shot (1..4096); the network's output scale."""
    noisy_verify: bool = True
    """Verify reads see the device's read noise."""
    learned_shots: int = 10000
    """Shots whose pulse counts the network decides (>= 1); any later shots fine-tune with
    write-verify's local-step count ``round(err / E[dg](g))``."""
    done_fraction: float = 1.0
    """Stop once this fraction of the free devices verifies within tolerance (as ``WriteVerify``)."""

    def __post_init__(self) -> None:
        check_range("programmer.done_fraction", self.done_fraction, 1e-6, 1.0)
        check_range("programmer.learned_shots", self.learned_shots, 1, 10000)
        check_range("programmer.tolerance", self.tolerance, 1e-9, 1.0)
        check_range("programmer.max_iterations", self.max_iterations, 1, 10000)
        check_range("programmer.max_pulses", self.max_pulses, 1, 4096)

    def program(self, crossbar: Crossbar, g_target: Tensor, generator: torch.Generator) -> ProgramResult:
        choice = LearnedChoice(self.policy, self.max_pulses, self.learned_shots)
        return program_verify(crossbar, g_target, generator, choice, tolerance=self.tolerance,
                              max_iterations=self.max_iterations, max_pulses=self.max_pulses,
                              noisy_verify=self.noisy_verify, done_fraction=self.done_fraction)


def train_programmer(device: Device, config: ProgrammerTraining | None = None, generator: torch.Generator | None = None,
                     *, max_iterations: int = 50, noisy_verify: bool = True) -> LearnedProgrammer:
    """Train a :class:`LearnedProgrammer` for ``device`` (a few seconds on one CPU thread)."""
    config = config or ProgrammerTraining()
    generator = generator or torch.Generator().manual_seed(0)
    return LearnedProgrammer(policy=train_policy(device, config, generator), tolerance=config.tolerance,
                             max_iterations=max_iterations, max_pulses=config.max_pulses, noisy_verify=noisy_verify)
