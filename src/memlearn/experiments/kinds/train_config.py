"""Config tables of the ``train`` kind: ``[model]``, ``[learning]`` (lr), ``[train]``, ``[eval]``.

``[data]``, ``[device]``, ``[crossbar]`` and the rule fields of ``[learning]`` are validated by the
registry into their components' own dataclasses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal


MAX_LR = 1e30
"""Largest learning rate accepted: beyond it ``lr * gradient`` overflows float32 (max 3.4e38) for
ordinary gradients, so torch would fail with an overflow instead of a diagnosis."""


def check_lr(field: str, lr: float) -> None:
    """A learning rate must be a finite number in (0, MAX_LR]."""
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not (math.isfinite(lr) and 0 < lr <= MAX_LR):
        raise ValueError(f"{field}={lr!r} must be a finite number in (0, {MAX_LR:g}] (larger values overflow float32)")


def check_loop(epochs: int, batch_size: int) -> None:
    """The ``[train]`` checks every kind's training loop shares."""
    if not 1 <= epochs <= 100_000:
        raise ValueError(f"train.epochs={epochs!r} must be in [1, 100000]")
    if not 1 <= batch_size <= 65536:
        raise ValueError(f"train.batch_size={batch_size!r} must be in [1, 65536]")


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """The multilayer perceptron trained on the chip (input and output sizes come from the data)."""

    hidden: list[int] = field(default_factory=lambda: [32])
    """Hidden layer widths, e.g. ``[64, 32]`` (each 1..100000; ``[]`` = a single layer)."""
    activation: Literal["tanh", "relu", "sigmoid", "identity"] = "tanh"
    """Hidden nonlinearity."""

    def __post_init__(self) -> None:
        for i, width in enumerate(self.hidden):
            if not 1 <= width <= 100_000:
                raise ValueError(f"model.hidden[{i}]={width!r} must be in [1, 100000]")


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """The training loop."""

    epochs: int = 10
    """Passes over the training set (1..100000)."""
    batch_size: int = 10
    """Samples per update (1..65536); each update is one set of pulses per layer."""
    float_baseline: bool = True
    """Also train the float twin (same initial weights, data order, lr) with plain SGD, for comparison."""
    float_lr: float | None = None
    """Learning rate of the float baseline (0 < lr <= 1e30); default: ``learning.lr``."""
    log_every: int = 10
    """Write a step record (loss, pulses, energy) to metrics.jsonl every this many batches (>= 1)."""
    max_saturation: float = 0.99
    """Stop with a diagnosis when this fraction of a layer's devices sits at a conductance bound (0 < x <= 1)."""
    figures: bool = True
    """Write the run's figures (learning curves, conductance histograms, pulses per device, drift); sweeps may turn them off."""
    torch_device: Literal["cpu", "cuda"] = "cpu"
    """Where tensors live; ``cuda`` needs a GPU build of torch."""
    tensorboard: bool = False
    """Also log the metrics to TensorBoard in ``<run folder>/tensorboard`` (needs the optional ``tensorboard`` package)."""

    def __post_init__(self) -> None:
        check_loop(self.epochs, self.batch_size)
        if self.float_lr is not None:
            check_lr("train.float_lr", self.float_lr)
        if self.log_every < 1:
            raise ValueError(f"train.log_every={self.log_every!r} must be >= 1")
        if not (0 < self.max_saturation <= 1):
            raise ValueError(f"train.max_saturation={self.max_saturation!r} must be in (0, 1]")


@dataclass(frozen=True, kw_only=True)
class EvalConfig:
    """Evaluation after training."""

    drift_times: list[float] = field(default_factory=list)
    """Times after programming (s, each > 0) at which test accuracy is re-measured with the device's drift; e.g. ``[1, 3600, 86400]``."""

    def __post_init__(self) -> None:
        for i, t in enumerate(self.drift_times):
            if not (math.isfinite(t) and t > 0):
                raise ValueError(f"eval.drift_times[{i}]={t!r} must be a finite time > 0 (s)")


@dataclass(frozen=True, kw_only=True)
class LearningConfig:
    """``[learning]``: the learning rate. The update rule (``rule``, next to it with its own fields) is
    parsed in one place, :func:`memlearn.experiments.registry.build_rule`."""

    lr: float = 0.1
    """Learning rate of analog and digital parameters (0 < lr <= 1e30)."""

    def __post_init__(self) -> None:
        check_lr("learning.lr", self.lr)


SECTIONS = ("data", "model", "device", "crossbar", "learning", "train", "eval")
"""Tables the ``train`` kind reads; any other table is an error."""
