"""EquilibriumPropagation: free phase, nudged phase(s), local update through a rule or an optimizer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from memlearn.eqprop.energy import cost, hard_sigmoid
from memlearn.eqprop.network import EnergyNetwork
from memlearn.eqprop.nudging import NudgeConfig, signed_betas
from memlearn.eqprop.relaxation import RelaxConfig, relax
from memlearn.eqprop.update import Phases, ep_requests, write_ep_gradients
from memlearn.nn.tile import AnalogTile
from memlearn.rules.rule import Rule, apply_update


@dataclass(frozen=True, kw_only=True)
class EPConfig:
    """The phases of one EP update. Defaults: beta = 0.5 as in Scellier & Bengio 2017 (one hidden
    layer, who used 20 free / 4 nudged eps = 0.5 steps and one-sided nudging); here symmetric
    nudging and exact block sweeps, at most 30 free / 10 nudged, stopping at convergence."""

    free: RelaxConfig = field(default_factory=lambda: RelaxConfig(max_steps=30, tol=1e-4))
    """Free-phase relaxation (also used for prediction)."""
    nudged: RelaxConfig = field(default_factory=lambda: RelaxConfig(max_steps=10, tol=1e-4))
    """Nudged-phase relaxation; starts from the free equilibrium."""
    nudge: NudgeConfig = field(default_factory=NudgeConfig)
    """Nudging strength and scheme."""


def one_hot(y: Tensor, n_classes: int, dtype: torch.dtype = torch.float32) -> Tensor:
    """Integer labels (batch,) -> targets (batch, n_classes) in {0, 1}."""
    return torch.nn.functional.one_hot(y, n_classes).to(dtype)


def run_phases(network: EnergyNetwork, x: Tensor, target: Tensor, config: EPConfig,
               generator: torch.Generator) -> Phases:
    """Free phase from zero, then each nudged phase from the free equilibrium."""
    free = relax(network, x, network.zero_state(x), config.free)
    betas = signed_betas(config.nudge, generator)
    nudged = tuple(relax(network, x, free.state, config.nudged, target, b) for b in betas)
    return Phases(free=free, nudged=nudged, betas=betas)


class EquilibriumPropagation:
    """Trains an :class:`EnergyNetwork` by equilibrium propagation.

    Analog tiles change only through ``rule`` (pulses: the same rules as backprop training,
    e.g. ``StochasticPulse``, ``Manhattan``, ``MixedPrecision``, ``DeterministicPulse``); biases and
    float weight matrices get EP's estimate in ``.grad`` and ``optimizer`` steps them.

    Args:
        network: the network to train (its tiles are written through the rule).
        config: phases and nudging.
        lr: learning rate of the analog requests (and of the default optimizer).
        rule: the update rule for analog tiles (required when the network has tiles).
        optimizer: steps the digital parameters; default ``torch.optim.SGD(lr)``.
    """

    def __init__(self, network: EnergyNetwork, config: EPConfig, lr: float, rule: Rule | None = None,
                 optimizer: torch.optim.Optimizer | None = None) -> None:
        if not lr > 0:
            raise ValueError(f"lr={lr!r} must be > 0")
        tiles = network.tiles()
        if tiles and rule is None:
            raise ValueError("the network has analog tiles: pass a rule (e.g. StochasticPulse()) to write them")
        self.network, self.config, self.lr, self.rule = network, config, float(lr), rule
        digital = [p for p in network.parameters() if p.requires_grad]
        self.optimizer = optimizer or torch.optim.SGD(digital, lr=lr)
        self.rule_states: list[Any] = [rule.init(t) for t in tiles] if rule is not None else []

    def step(self, x: Tensor, target: Tensor, generator: torch.Generator) -> dict:
        """One EP update on a batch; returns the free phase's cost and relaxation statistics.

        Args:
            x: inputs (batch, n_0) in [0, 1]; target: (batch, n_L) in [0, 1].
            generator: draws the random beta sign (``random_sign`` mode).
        """
        phases = run_phases(self.network, x, target, self.config, generator)
        with torch.no_grad():
            requests = ep_requests(self.network, x, phases, self.lr)
            tiles = [(m, r) for m, r in zip(self.network.weights, requests) if isinstance(m, AnalogTile)]
            for i, (tile, req) in enumerate(tiles):
                self.rule_states[i] = apply_update(self.rule, req, tile, self.rule_states[i], tile.generator)
        self.optimizer.zero_grad(set_to_none=True)
        write_ep_gradients(self.network, x, phases)
        self.optimizer.step()
        free_out = phases.free.state[-1]
        return {
            "loss": float(cost(free_out, target).mean()),
            "correct": int((free_out.argmax(1) == target.argmax(1)).sum()),
            "free_steps": float(phases.free.n_steps.float().mean()),
            "nudged_steps": float(torch.stack([p.n_steps.float().mean() for p in phases.nudged]).mean()),
            "free_converged": float(phases.free.converged.float().mean()),
        }


@torch.no_grad()
def predict(network: EnergyNetwork, x: Tensor, config: RelaxConfig) -> Tensor:
    """Free-phase output ``rho(s_L)`` (batch, n_L): the network's prediction."""
    return hard_sigmoid(relax(network, x, network.zero_state(x), config).state[-1])


@torch.no_grad()
def evaluate_ep(network: EnergyNetwork, x: Tensor, y: Tensor, config: RelaxConfig, batch_size: int = 500) -> float:
    """Classification accuracy (fraction) of the free-phase output's argmax against labels ``y``."""
    correct = 0
    for start in range(0, int(x.shape[0]), batch_size):
        out = predict(network, x[start:start + batch_size], config)
        correct += int((out.argmax(1) == y[start:start + batch_size]).sum())
    return correct / max(int(x.shape[0]), 1)


def train_epoch_ep(learner: EquilibriumPropagation, x: Tensor, y: Tensor, batch_size: int,
                   generator: torch.Generator) -> dict:
    """One pass over ``(x, y)`` in an order drawn from ``generator``; returns mean cost, training
    accuracy and mean relaxation steps."""
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} must be >= 1")
    n = int(x.shape[0])
    n_classes = learner.network.sizes[-1]
    order = torch.randperm(n, generator=generator, device=generator.device).to(x.device)
    loss = correct = free_steps = nudged_steps = 0.0
    n_batches = 0
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        info = learner.step(x[idx], one_hot(y[idx], n_classes, x.dtype), generator)
        loss += info["loss"] * len(idx)
        correct += info["correct"]
        free_steps += info["free_steps"]
        nudged_steps += info["nudged_steps"]
        n_batches += 1
    return {"loss": loss / n, "accuracy": correct / n, "free_steps": free_steps / n_batches,
            "nudged_steps": nudged_steps / n_batches}
