"""Deploy a meta-trained initialisation to the chip and adapt it there with a few pulsed updates."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
from torch import nn

from memlearn.validation import check_range
from memlearn.meta.episodes import Episode, EpisodeSampler
from memlearn.nn.linear import AnalogLinear
from memlearn.rules.analog_sgd import AnalogSGD
from memlearn.rules.rule import Rule


@dataclass(frozen=True, kw_only=True)
class Adaptation:
    """Few-shot adaptation: ``steps`` full-batch updates on the support set."""

    steps: int = 5
    """Updates per episode (>= 1): the "handful of pulsed updates"."""
    lr: float = 0.5
    """Learning rate (> 0), handed to the rule on the chip and to SGD in float."""
    adapt: str = "last"
    """Adapted layers: ``last`` (output layer) or ``all``."""

    def __post_init__(self) -> None:
        check_range("steps", self.steps, 1, 1e4)
        check_range("lr", self.lr, 1e-9, 1e3)
        if self.adapt not in ("last", "all"):
            raise ValueError(f"adapt={self.adapt!r} is not one of ('last', 'all')")


@dataclass(frozen=True)
class FewShotResult:
    """Mean query accuracy over episodes, its 95% confidence half-width, and mean pulses per episode."""

    accuracy: float
    ci95: float
    pulses: float
    n_episodes: int

    def as_dict(self, prefix: str = "") -> dict:
        return {f"{prefix}accuracy": self.accuracy, f"{prefix}ci95": self.ci95, f"{prefix}pulses": self.pulses}


def _linears(model: nn.Module, kind: type) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, kind)]


@torch.no_grad()
def deploy(float_model: nn.Module, analog_model: nn.Module, program: bool = True) -> int:
    """Copy every ``nn.Linear`` of ``float_model`` onto the matching :class:`AnalogLinear` (same order).

    Args:
        program: True programs the conductances with each tile's programmer (write-verify by default,
            pulses counted); False writes them exactly (no pulses; an idealised deployment).

    Returns:
        programming pulses spent.
    """
    src, dst = _linears(float_model, nn.Linear), _linears(analog_model, AnalogLinear)
    if len(src) != len(dst):
        raise ValueError(f"float model has {len(src)} linear layers, analog model {len(dst)}")
    pulses = 0
    for a, b in zip(src, dst):
        if program:
            pulses += b.tile.program(a.weight).pulses
        else:
            b.tile.set_weights_exact(a.weight)
        if b.bias is not None and a.bias is not None:
            b.bias.copy_(a.bias)
    return pulses


def _adapted_module(model: nn.Module, adapt: str, kind: type) -> nn.Module:
    return model if adapt == "all" else _linears(model, kind)[-1]


def _pulses(model: nn.Module) -> int:
    return sum(int(m.tile.array.n_writes.sum()) for m in _linears(model, AnalogLinear))


def adapt_on_chip(model: nn.Module, episode: Episode, rule: Rule, config: Adaptation) -> tuple[float, int]:
    """Adapt ``model`` (analog) in place on the support set through ``rule``; returns the query accuracy
    and the pulses spent."""
    opt = AnalogSGD(_adapted_module(model, config.adapt, AnalogLinear), config.lr, rule)
    before = _pulses(model)
    model.train()
    for _ in range(config.steps):
        loss = nn.functional.cross_entropy(model(episode.x_support), episode.y_support)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    for m in _linears(model, AnalogLinear):
        m.tile.pending = None
    return _accuracy(model, episode), _pulses(model) - before


def adapt_float(model: nn.Module, episode: Episode, config: Adaptation) -> float:
    """The same adaptation in floating point on a copy of ``model``; returns the query accuracy."""
    model = copy.deepcopy(model)
    opt = torch.optim.SGD(_adapted_module(model, config.adapt, nn.Linear).parameters(), lr=config.lr)
    for _ in range(config.steps):
        loss = nn.functional.cross_entropy(model(episode.x_support), episode.y_support)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return _accuracy(model, episode)


@torch.no_grad()
def _accuracy(model: nn.Module, episode: Episode) -> float:
    return float((model(episode.x_query).argmax(dim=1) == episode.y_query).float().mean())


def _result(accs: list[float], pulses: list[int]) -> FewShotResult:
    a = torch.tensor(accs, dtype=torch.float64)
    ci = 1.96 * float(a.std()) / math.sqrt(len(accs)) if len(accs) > 1 else 0.0
    return FewShotResult(accuracy=float(a.mean()), ci95=ci, pulses=float(sum(pulses)) / len(pulses), n_episodes=len(accs))


def evaluate_on_chip(model: nn.Module, sampler: EpisodeSampler, rule: Rule, config: Adaptation, n_episodes: int,
                     generator: torch.Generator) -> FewShotResult:
    """Mean query accuracy after on-chip adaptation, each episode starting from the deployed state."""
    snapshot = copy.deepcopy(model.state_dict())
    accs, pulses = [], []
    for _ in range(n_episodes):
        model.load_state_dict(snapshot)
        acc, n = adapt_on_chip(model, sampler.sample(generator), rule, config)
        accs.append(acc)
        pulses.append(n)
    model.load_state_dict(snapshot)
    return _result(accs, pulses)


def evaluate_float(model: nn.Module, sampler: EpisodeSampler, config: Adaptation, n_episodes: int,
                   generator: torch.Generator) -> FewShotResult:
    """Mean query accuracy after the same adaptation in floating point."""
    accs = [adapt_float(model, sampler.sample(generator), config) for _ in range(n_episodes)]
    return _result(accs, [0] * n_episodes)
