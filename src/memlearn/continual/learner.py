"""Learn a task stream on the chip with one strategy and record the accuracy matrix and write costs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import Tensor, nn

from memlearn.continual.chip_physics import (ChipPhysics, inject_faults, set_elapsed, total_pulses, worn_fraction,
                                             write_energy)
from memlearn.continual.consolidation import Consolidation, fisher_diagonal
from memlearn.continual.metrics import average_accuracy, backward_transfer, forgetting, forward_transfer
from memlearn.continual.replay import ReplayBuffer
from memlearn.continual.sparse_rewrite import SparseRewrite
from memlearn.continual.streams import Task, TaskStream
from memlearn.validation import check_range
from memlearn.rules.analog_sgd import AnalogSGD
from memlearn.rules.chain import Chain, chain
from memlearn.rules.rule import PulseTransform, Rule

STRATEGIES = ("naive", "ewc", "si", "sparse", "replay", "frozen")


@dataclass(frozen=True, kw_only=True)
class StrategyConfig:
    """How the chip keeps learning from task to task.

    - ``naive``: plain on-chip fine-tuning with the rule (the baseline that forgets);
    - ``ewc`` / ``si``: :class:`Consolidation` (importance-gated pulses; Kirkpatrick et al. 2017 /
      Zenke et al. 2017);
    - ``sparse``: :class:`SparseRewrite` (only the top ``sparse_fraction`` updates are written);
    - ``replay``: a :class:`ReplayBuffer` of ``replay_capacity`` past samples mixed into every batch
      (Chaudhry et al., arXiv 2019; Rolnick et al., NeurIPS 2019, experience replay);
    - ``frozen``: the first task trains the whole network, after which the analog feature extractor is
      frozen and only the last layer learns on the chip (a fixed feature extractor with a trained
      readout, e.g. the "latent replay"-free baseline of Pellegrini et al., IROS 2020).
    """

    name: str = "naive"
    """Strategy: one of naive, ewc, si, sparse, replay, frozen."""
    strength: float = 1.0
    """Consolidation gate strength lambda (ewc/si; dimensionless, >= 0)."""
    damping: float = 0.01
    """SI damping xi (si; weight units squared, > 0)."""
    sparse_fraction: float = 0.1
    """Fraction of weights written per update (sparse; in (0, 1])."""
    replay_capacity: int = 100
    """Samples kept in the digital replay buffer (replay; >= 0)."""
    replay_batch: int = 8
    """Replayed samples added to every mini-batch (replay; >= 1)."""
    fisher_samples: int = 200
    """Training samples per task used for the Fisher diagonal (ewc; >= 1)."""

    def __post_init__(self) -> None:
        if self.name not in STRATEGIES:
            raise ValueError(f"name={self.name!r} is not one of {STRATEGIES}")
        check_range("strength", self.strength, 0.0, 1e6)
        check_range("damping", self.damping, 1e-12, 1e6)
        check_range("sparse_fraction", self.sparse_fraction, 1e-9, 1.0)
        check_range("replay_capacity", self.replay_capacity, 0, 1e9)
        check_range("replay_batch", self.replay_batch, 1, 1e6)
        check_range("fisher_samples", self.fisher_samples, 1, 1e9)

    def pulse_transform(self) -> PulseTransform | None:
        """The strategy's pulse transform (``ewc``/``si``: :class:`Consolidation`, ``sparse``:
        :class:`SparseRewrite`); None for strategies that do not touch the pulses."""
        if self.name in ("ewc", "si"):
            return Consolidation(importance=self.name, strength=self.strength, damping=self.damping)
        if self.name == "sparse":
            return SparseRewrite(fraction=self.sparse_fraction)
        return None

    def wrap(self, rule: Rule) -> Rule:
        """The rule this strategy writes with: ``chain(rule, pulse_transform)``, or ``rule`` itself
        when the strategy does not touch the pulses."""
        gate = self.pulse_transform()
        return rule if gate is None else chain(rule, gate)


@dataclass(frozen=True, kw_only=True)
class StreamTraining:
    """Training schedule for every task of a stream."""

    epochs: int = 1
    """Passes over each task's training set (>= 1)."""
    batch_size: int = 16
    """Samples per update (>= 1)."""
    lr: float = 0.05
    """Learning rate handed to the rule (> 0)."""

    def __post_init__(self) -> None:
        check_range("epochs", self.epochs, 1, 1e6)
        check_range("batch_size", self.batch_size, 1, 1e6)
        check_range("lr", self.lr, 1e-12, 1e6)


@dataclass
class StreamResult:
    """What a run over a stream measured.

    ``accuracy[i, j]`` is the test accuracy on task ``j`` after training tasks ``0..i``;
    ``baseline[j]`` the accuracy of the initial model on task ``j``.
    """

    accuracy: Tensor
    baseline: Tensor
    pulses: list[int] = field(default_factory=list)
    """Programming pulses spent on each task."""
    write_energy: float = 0.0
    """Energy of all programming pulses (J)."""
    worn_fraction: float = 0.0
    """Fraction of devices past their endurance budget at the end."""
    replay_bits: int = 0
    """Digital memory of the replay buffer (bits)."""
    new_faults: int = 0
    """Devices that became stuck between tasks."""

    def summary(self) -> dict:
        """Scalar metrics (JSON-serialisable)."""
        return {
            "average_accuracy": average_accuracy(self.accuracy),
            "backward_transfer": backward_transfer(self.accuracy),
            "forward_transfer": forward_transfer(self.accuracy, self.baseline),
            "forgetting": forgetting(self.accuracy),
            "pulses": int(sum(self.pulses)),
            "write_energy": float(self.write_energy),
            "worn_fraction": float(self.worn_fraction),
            "replay_bits": int(self.replay_bits),
            "new_faults": int(self.new_faults),
        }


def _masked(logits: Tensor, mask: Tensor | None) -> Tensor:
    return logits if mask is None else logits.masked_fill(~mask, float("-inf"))


@torch.no_grad()
def evaluate_task(model: nn.Module, task: Task, n_outputs: int) -> float:
    """Test accuracy on ``task`` (outputs masked to the task's classes when it has any)."""
    was = model.training
    model.eval()
    logits = _masked(model(task.x_test), task.output_mask(n_outputs))
    model.train(was)
    return float((logits.argmax(dim=1) == task.y_test).float().mean()) if len(task.y_test) else 0.0


def _fisher_end_task(model: nn.Module, opt: AnalogSGD, effective: Chain, rule: Consolidation, task: Task,
                     n_outputs: int, n_samples: int, generator: torch.Generator) -> None:
    fishers: list[Tensor | None] = [None] * len(opt.tiles)
    if rule.importance == "ewc":
        keep = torch.randperm(int(task.x_train.shape[0]), generator=generator)[:n_samples].to(task.x_train.device)
        logits = _masked(model(task.x_train[keep]), task.output_mask(n_outputs, training=True))
        # Summed loss: each row of a tile's d is then the gradient of one sample's loss.
        nn.functional.cross_entropy(logits, task.y_train[keep], reduction="sum").backward()
        for i, tile in enumerate(opt.tiles):
            if tile.pending is not None:
                x, d = tile.pending
                fishers[i] = fisher_diagonal(x.reshape(-1, x.shape[-1]), d.reshape(-1, d.shape[-1]))
                tile.pending = None
        opt.zero_grad(set_to_none=True)
        fishers = [f if f is not None else torch.zeros_like(t.weights()) for f, t in zip(fishers, opt.tiles)]
    for i, tile in enumerate(opt.tiles):
        state = opt.rule_states[i]
        opt.rule_states[i] = effective.with_pulse_state(
            state, rule, rule.end_task(effective.pulse_state(state, rule), tile, fishers[i]))


def run_stream(model: nn.Module, stream: TaskStream, rule: Rule, strategy: StrategyConfig,
               training: StreamTraining, physics: ChipPhysics, generator: torch.Generator,
               on_task: Callable[[dict], None] | None = None) -> StreamResult:
    """Train ``model`` on each task of ``stream`` in turn, on the chip, and measure everything.

    Args:
        model: logits model whose analog layers learn through ``rule`` (an ``nn.Sequential`` ending in
            its output layer when the strategy is ``frozen``).
        stream: the task stream; the model has ``stream.n_classes`` outputs.
        rule: how update requests become pulses (wrapped by the strategy).
        strategy, training, physics: see their dataclasses.
        generator: sample order, replay draws, fault draws (CPU generator).
        on_task: called after each task with ``{"task", "accuracy": [...], "pulses"}``.
    """
    n_tasks, c = len(stream), stream.n_classes
    if strategy.name == "frozen" and not (isinstance(model, nn.Sequential) and len(model) >= 2):
        raise ValueError("strategy 'frozen' needs an nn.Sequential model (feature layers, then the output layer)")
    effective = strategy.wrap(rule)
    opt = AnalogSGD(model, training.lr, effective)
    features: nn.Module | None = None
    buffer = ReplayBuffer(strategy.replay_capacity) if strategy.name == "replay" else None
    acc = torch.zeros(n_tasks, n_tasks)
    baseline = torch.tensor([evaluate_task(model, t, c) for t in stream.tasks])
    pulses: list[int] = []
    elapsed, new_faults, energy0 = 0.0, 0, write_energy(model)
    for i, task in enumerate(stream.tasks):
        if i > 0:
            elapsed += physics.idle_time
            set_elapsed(model, elapsed)
            if physics.fault_rate > 0:
                new_faults += inject_faults(model, physics.fault_rate, generator)
        if strategy.name == "frozen" and i == 1:
            features, head = model[:-1], model[-1]
            opt = AnalogSGD(head, training.lr, rule)
        before = total_pulses(model)
        _train_task(model, features, opt, task, c, training, buffer, strategy.replay_batch, generator)
        pulses.append(total_pulses(model) - before)
        if isinstance(effective, Chain) and effective.pulse_transforms and isinstance(effective.pulse_transforms[-1],
                                                                                     Consolidation):
            _fisher_end_task(model, opt, effective, effective.pulse_transforms[-1], task, c,
                             strategy.fisher_samples, generator)
        if buffer is not None:
            mask = task.output_mask(c, training=True)
            mask = torch.ones(c, dtype=torch.bool, device=task.x_train.device) if mask is None else mask
            buffer.add_task(task.x_train, task.y_train, mask, generator)
        acc[i] = torch.tensor([evaluate_task(model, t, c) for t in stream.tasks])
        if on_task is not None:
            on_task({"task": i, "accuracy": acc[i].tolist(), "pulses": pulses[-1]})
    return StreamResult(accuracy=acc, baseline=baseline, pulses=pulses,
                        write_energy=write_energy(model) - energy0, worn_fraction=worn_fraction(model),
                        replay_bits=buffer.memory_bits if buffer is not None else 0, new_faults=new_faults)


def _train_task(model: nn.Module, features: nn.Module | None, opt: AnalogSGD, task: Task, n_outputs: int,
                training: StreamTraining, buffer: ReplayBuffer | None, replay_batch: int,
                generator: torch.Generator) -> None:
    n = int(task.x_train.shape[0])
    mask = task.output_mask(n_outputs, training=True)
    model.train()
    for _ in range(training.epochs):
        order = torch.randperm(n, generator=generator).to(task.x_train.device)
        for start in range(0, n, training.batch_size):
            idx = order[start:start + training.batch_size]
            xb, yb = task.x_train[idx], task.y_train[idx]
            mb = None if mask is None else mask.expand(len(idx), -1)
            replay = buffer.sample(replay_batch, generator) if buffer is not None else None
            if replay is not None:
                xr, yr, mr = replay
                mb = torch.cat([torch.ones(len(idx), n_outputs, dtype=torch.bool, device=xb.device) if mb is None else mb, mr])
                xb, yb = torch.cat([xb, xr]), torch.cat([yb, yr])
            if features is not None:
                with torch.no_grad():
                    h = features(xb)
                logits = model[-1](h)
            else:
                logits = model(xb)
            loss = nn.functional.cross_entropy(_masked(logits, mb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
