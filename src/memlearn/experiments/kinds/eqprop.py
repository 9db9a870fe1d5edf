"""The ``eqprop`` kind: an energy network trained on the chip by equilibrium propagation.

Tables: ``[data]``, ``[device]``, ``[crossbar]`` (registry), ``[learning]`` (rule + ``lr``, one or one per layer),
``[model]`` (hidden widths), ``[eqprop]`` (nudging and relaxation), ``[train]``. A float
backprop twin (same architecture, cost and initial weights) trains next to it for comparison.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal

import torch

from memlearn.crossbar.crossbar import Crossbar
from memlearn.eqprop import (EPConfig, EnergyNetwork, EquilibriumPropagation, NudgeConfig, RelaxConfig, backprop_twin,
                             evaluate_ep, evaluate_feedforward, train_backprop_epoch, train_epoch_ep)
from memlearn.experiments import figures, registry
from memlearn.experiments.schema import ConfigError, validate
from memlearn.experiments.kinds.train_config import check_loop

SECTIONS = ("data", "model", "device", "crossbar", "learning", "eqprop", "train")
"""Tables the ``eqprop`` kind reads; any other table is an error."""


@dataclass(frozen=True, kw_only=True)
class EqpropModelConfig:
    """``[model]``: the layered energy network (input and output sizes come from the data)."""

    hidden: list[int] = field(default_factory=lambda: [64])
    """Hidden layer widths (each 1..100000; at least one layer)."""
    init_gain: float = 1.0
    """Multiplies the Glorot-uniform bound of the initial weights (0 < x <= 10)."""

    def __post_init__(self) -> None:
        if not self.hidden:
            raise ValueError("model.hidden=[] must list at least one hidden width (EP needs a hidden layer)")
        for i, width in enumerate(self.hidden):
            if not 1 <= width <= 100_000:
                raise ValueError(f"model.hidden[{i}]={width!r} must be in [1, 100000]")
        if not 0 < self.init_gain <= 10:
            raise ValueError(f"model.init_gain={self.init_gain!r} must be in (0, 10]")


@dataclass(frozen=True, kw_only=True)
class EqpropPhaseConfig:
    """``[eqprop]``: nudging and relaxation of the free and nudged phases."""

    beta: float = 0.5
    """Nudging strength (0 < beta < 1)."""
    mode: Literal["positive", "symmetric", "random_sign"] = "symmetric"
    """``positive`` (+beta vs free), ``symmetric`` (+beta vs -beta) or ``random_sign`` (+-beta vs free)."""
    free_steps: int = 30
    """Most block sweeps of the free phase (1..100000)."""
    nudged_steps: int = 10
    """Most block sweeps of each nudged phase (1..100000)."""
    tol: float = 1e-3
    """A sample has converged when no unit moved more than this in a sweep (0..1)."""
    step_size: float = 1.0
    """Fraction of the way to each layer's block minimiser per sweep (0 < x <= 1)."""

    def __post_init__(self) -> None:
        for name in ("free_steps", "nudged_steps"):
            v = getattr(self, name)
            if not 1 <= v <= 100_000:
                raise ValueError(f"eqprop.{name}={v!r} must be in [1, 100000]")
        if not 0 < self.beta < 1:
            raise ValueError(f"eqprop.beta={self.beta!r} must be in (0, 1)")
        if not 0 <= self.tol <= 1:
            raise ValueError(f"eqprop.tol={self.tol!r} must be in [0, 1]")
        if not 0 < self.step_size <= 1:
            raise ValueError(f"eqprop.step_size={self.step_size!r} must be in (0, 1]")

    def to_ep_config(self) -> EPConfig:
        return EPConfig(free=RelaxConfig(max_steps=self.free_steps, tol=self.tol, step_size=self.step_size),
                        nudged=RelaxConfig(max_steps=self.nudged_steps, tol=self.tol, step_size=self.step_size),
                        nudge=NudgeConfig(beta=self.beta, mode=self.mode))


@dataclass(frozen=True, kw_only=True)
class EqpropTrainConfig:
    """``[train]``: the training loop."""

    epochs: int = 5
    """Passes over the training set (1..100000)."""
    batch_size: int = 10
    """Samples per EP update (1..65536)."""
    backprop_baseline: bool = True
    """Also train the float backprop twin (same architecture, cost, initial weights, lr)."""
    torch_device: Literal["cpu", "cuda"] = "cpu"
    """Where tensors live."""

    def __post_init__(self) -> None:
        check_loop(self.epochs, self.batch_size)


def _lr(config: dict, n_layers: int) -> tuple[float, ...]:
    """``[learning.lr]``: one rate for every weight matrix, or a list of one per weight matrix (input
    side first; Scellier & Bengio 2017: ``[0.1, 0.05]`` for 784-500-10). Layer ``l``'s rate also
    steps the bias of the units ``W_l`` drives."""
    lr = config.get("learning", {}).get("lr", 0.1)
    rates = lr if isinstance(lr, list) else [lr] * n_layers
    if len(rates) != n_layers:
        raise ConfigError(f"[learning.lr] = {lr!r}: give one rate or {n_layers} (one per weight matrix of "
                          f"{n_layers - 1} hidden layer(s))")
    for i, r in enumerate(rates):
        if not isinstance(r, (int, float)) or isinstance(r, bool) or not math.isfinite(r) or r <= 0:
            where = "" if not isinstance(lr, list) else f"[{i}]"
            raise ConfigError(f"[learning.lr{where}] = {r!r}: must be a finite number > 0 (e.g. 0.1)")
    return tuple(float(r) for r in rates)


def _twin_optimizer(twin: torch.nn.Sequential, rates: tuple[float, ...]) -> torch.optim.Optimizer:
    """SGD on the backprop twin with layer ``l``'s rate on its ``l``-th linear layer (EP's grouping)."""
    linears = [m for m in twin if isinstance(m, torch.nn.Linear)]
    return torch.optim.SGD([{"params": list(m.parameters()), "lr": r} for m, r in zip(linears, rates)], lr=rates[0])


def run(config: dict, run_dir: Path, log: Callable[[dict], None], seed: int) -> dict:
    """Train an EP network on the chip; returns final test accuracies and relaxation statistics."""
    unknown = sorted(k for k, v in config.items() if isinstance(v, dict) and k not in SECTIONS)
    if unknown:
        raise ConfigError(f"unknown table [{unknown[0]}] for kind 'eqprop'; allowed tables: {', '.join(SECTIONS)}")
    model_cfg = validate(EqpropModelConfig, config.get("model", {}), "model")
    phase_cfg = validate(EqpropPhaseConfig, config.get("eqprop", {}), "eqprop")
    train_cfg = validate(EqpropTrainConfig, config.get("train", {}), "train")
    learning = dict(config.get("learning", {}))
    learning.setdefault("rule", "stochastic")
    rule = registry.build_rule(learning)
    tile_config = registry.build_tile_config(config)
    data = registry.load_data(config.get("data", {"name": "digits"}))
    dev = torch.device(train_cfg.torch_device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("[train.torch_device] = 'cuda' but this torch build sees no GPU; use 'cpu'")
    x_tr, y_tr, x_te, y_te = (t.to(dev) for t in (data.x_train, data.y_train, data.x_test, data.y_test))
    sizes = [data.n_features, *model_cfg.hidden, data.n_classes]
    lr = _lr(config, len(sizes) - 1)
    net = EnergyNetwork(sizes, tile_config, seed=seed, init_gain=model_cfg.init_gain, device=dev)
    ep_cfg = phase_cfg.to_ep_config()
    learner = EquilibriumPropagation(net, ep_cfg, lr, rule=rule)
    twin = backprop_twin(net) if train_cfg.backprop_baseline else None
    twin_opt = _twin_optimizer(twin, lr) if twin is not None else None
    gen = torch.Generator(device=dev).manual_seed(seed)
    twin_gen = torch.Generator(device=dev).manual_seed(seed)
    history: list[dict] = []
    for epoch in range(1, train_cfg.epochs + 1):
        t0 = time.perf_counter()
        info = train_epoch_ep(learner, x_tr, y_tr, train_cfg.batch_size, gen)
        train_s = time.perf_counter() - t0
        record = {"epoch": epoch, "train_loss": info["loss"], "train_accuracy": info["accuracy"],
                  "test_accuracy": evaluate_ep(net, x_te, y_te, ep_cfg.free),
                  "free_steps": info["free_steps"], "nudged_steps": info["nudged_steps"],
                  "pulses": int(sum(int(m.n_writes.sum()) for m in net.modules() if isinstance(m, Crossbar))),
                  "epoch_seconds": train_s}
        if twin is not None:
            bp = train_backprop_epoch(twin, twin_opt, x_tr, y_tr, train_cfg.batch_size, twin_gen)
            record["float_train_loss"] = bp["loss"]
            record["float_test_accuracy"] = evaluate_feedforward(twin, x_te, y_te)
        log(record)
        history.append(record)
    figures.learning_curves(history, run_dir / "fig_learning_curves.png")
    last = history[-1]
    rows = [{"method": f"EP on chip ({learning['rule']} pulses)", "test accuracy": last["test_accuracy"],
             "train loss": last["train_loss"]}]
    if twin is not None:
        rows.append({"method": "backprop, float twin (same architecture; squared error on a linear readout)",
                     "test accuracy": last["float_test_accuracy"], "train loss": last["float_train_loss"]})
    figures.write_table(rows, run_dir / "table_eqprop.md")
    summary = {"test_accuracy": last["test_accuracy"], "train_loss": last["train_loss"],
               "free_steps": last["free_steps"], "nudged_steps": last["nudged_steps"], "pulses": last["pulses"],
               "sizes": sizes}
    if twin is not None:
        summary["backprop_test_accuracy"] = last["float_test_accuracy"]
    return summary
