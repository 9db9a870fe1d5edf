"""The ``continual`` kind: a task stream learned on the chip by several strategies; accuracy matrices,
forgetting, pulses and write energy in one table, and a plot of every accuracy matrix."""

from __future__ import annotations

import dataclasses

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal

import torch

from memlearn.continual import (STRATEGIES, ChipPhysics, StrategyConfig, StreamTraining, drifting_tasks, permuted_tasks, run_stream,
                                split_tasks)
from memlearn.continual.streams import TaskStream
from memlearn.experiments import registry
from memlearn.experiments.kinds.train_config import ModelConfig
from memlearn.experiments.health import chance_problem, check_value, verdict
from memlearn.experiments.schema import ConfigError, validate
from memlearn.experiments.stages import Stages
from memlearn.experiments.training import build_mlp

_COLUMNS = ("strategy", "average_accuracy", "forgetting", "backward_transfer", "forward_transfer", "pulses",
            "write_energy", "worn_fraction", "replay_bits")


@dataclass(frozen=True, kw_only=True)
class ContinualConfig:
    """``[continual]``: which stream, and which strategies learn it (each from the same initial chip)."""

    stream: Literal["split", "permuted", "drift"] = "split"
    """Task stream: split classes, permuted inputs, or slow input drift."""
    scenario: Literal["class_incremental", "task_incremental"] = "class_incremental"
    """Split streams only: shared head without task identity, or outputs masked per task."""
    labels_trick: bool = True
    """Split class-incremental only: each task's softmax covers its own classes while training."""
    classes_per_task: int = 2
    """Split streams: classes per task (must divide the number of classes)."""
    n_tasks: int = 5
    """Permuted/drift streams: number of tasks (>= 1)."""
    drift_magnitude: float = 0.5
    """Drift streams: relative gain/offset drift reached by the last task (0..10)."""
    strategies: list[str] = field(default_factory=lambda: ["naive", "si", "ewc", "sparse", "replay", "frozen"])
    """Strategies to compare: any of naive, ewc, si, sparse, replay, frozen."""

    def __post_init__(self) -> None:
        for i, name in enumerate(self.strategies):
            if name not in STRATEGIES:
                raise ValueError(f"continual.strategies[{i}]={name!r} is not one of {STRATEGIES}")
        if not self.strategies:
            raise ValueError("continual.strategies must list at least one strategy")
        if not 1 <= self.n_tasks <= 1000:
            raise ValueError(f"continual.n_tasks={self.n_tasks!r} must be in [1, 1000]")


_STRATEGY_DEFAULTS = {"strength": 20.0}
"""The kind's default consolidation strength: at the class-incremental task streams it runs, the
library default (1.0) barely gates the pulses."""


def _strategy_params(table: dict) -> StrategyConfig:
    """``[strategy]`` validated into the strategies' own :class:`StrategyConfig` (the names to run
    come from ``continual.strategies``, so ``name`` is not accepted here)."""
    if "name" in table:
        raise ConfigError("strategy.name is not a field here: list the strategies in continual.strategies")
    return validate(StrategyConfig, {**_STRATEGY_DEFAULTS, **table}, "strategy")


def _stream(cfg: ContinualConfig, data, seed: int) -> TaskStream:
    g = torch.Generator().manual_seed(seed + 17)
    if cfg.stream == "split":
        return split_tasks(data, cfg.classes_per_task, cfg.scenario, labels_trick=cfg.labels_trick)
    if cfg.stream == "permuted":
        return permuted_tasks(data, cfg.n_tasks, g)
    return drifting_tasks(data, cfg.n_tasks, cfg.drift_magnitude, g)


def plot_matrices(results: dict[str, torch.Tensor], names: list[str], path: Path, title: str = "") -> None:
    """One heat map of R[i, j] per strategy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(2.6 * len(results), 2.9), squeeze=False)
    for ax, (label, r) in zip(axes[0], results.items()):
        ax.imshow(r.numpy(), vmin=0, vmax=1, cmap="viridis")
        for (i, j), v in (((i, j), float(r[i, j])) for i in range(r.shape[0]) for j in range(r.shape[1])):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=6, color="w" if v < 0.6 else "k")
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("evaluated on task j", fontsize=7)
        ax.set_ylabel("after training task i", fontsize=7)
        ax.set_xticks(range(len(names)), names, fontsize=6, rotation=45)
        ax.set_yticks(range(len(names)), names, fontsize=6)
    fig.suptitle(title or "accuracy matrix R[i, j]", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def bar_chart(rows: list[dict], label: Callable[[dict], str], series: tuple[str, ...], path: Path, ylabel: str,
              title: str) -> None:
    """Grouped bars: one group per row (named by ``label(row)``), one bar per key in ``series``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    x = np.arange(len(rows))
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(max(4.0, 0.9 * len(rows) + 1.5), 3.2))
    for k, key in enumerate(series):
        ax.bar(x + (k - (len(series) - 1) / 2) * width, [float(r[key]) for r in rows], width, label=key)
    ax.set_xticks(x, [label(r) for r in rows], fontsize=7, rotation=30, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown_table(rows: list[dict], columns: tuple[str, ...] = _COLUMNS) -> str:
    """A markdown table of ``rows`` (numbers to 3 significant digits)."""
    fmt = lambda v: f"{v:.3g}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(r[c]) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def run(config: dict, run_dir: Path, log: Callable[[dict], None], seed: int) -> dict:
    """Learn the configured stream once per strategy, from identical initial chips."""
    cfg = validate(ContinualConfig, config.get("continual", {}), "continual")
    params = _strategy_params(config.get("strategy", {}))
    training = validate(StreamTraining, config.get("train", {}), "train")
    physics = validate(ChipPhysics, config.get("physics", {}), "physics")
    model_cfg = validate(ModelConfig, config.get("model", {}), "model")
    data = registry.load_data(config.get("data", {"name": "digits"}))
    tile_config = registry.build_tile_config(config)
    rule = registry.build_rule(config.get("learning", {"rule": "deterministic"}))
    stream = _stream(cfg, data, seed)
    sizes = [stream.n_features, *model_cfg.hidden, stream.n_classes]
    stages = Stages(run_dir, log, "continual", config)

    def strategy_stage(name: str) -> dict:
        strategy = dataclasses.replace(params, name=name)
        model = build_mlp(sizes, model_cfg.activation, tile_config, seed=seed)
        on_task = lambda rec, name=name: log({"step": rec["task"], "strategy": name, **rec})
        result = run_stream(model, stream, rule, strategy, training, physics, torch.Generator().manual_seed(seed),
                            on_task=on_task)
        summary = result.summary()
        for key in ("average_accuracy", "write_energy"):
            check_value(float(summary[key]), f"strategy {name}: {key}", "the end of the stream",
                        "lower the learning rate")
        log({"step": len(stream), "strategy": name, **summary, "accuracy_matrix": result.accuracy.tolist()})
        return {"row": {"strategy": name, **summary}, "matrix": result.accuracy}

    rows, matrices = [], {}
    for name in cfg.strategies:
        done = stages.run(f"strategy-{name}", lambda name=name: strategy_stage(name))
        rows.append(done["row"])
        matrices[name] = done["matrix"]
    names = [t.name for t in stream.tasks]
    (run_dir / "table_continual.md").write_text(markdown_table(rows))
    (run_dir / "table_continual.csv").write_text(
        ",".join(_COLUMNS) + "\n" + "\n".join(",".join(str(r[c]) for c in _COLUMNS) for r in rows) + "\n")
    plot_matrices(matrices, names, run_dir / "fig_accuracy_matrix.png", f"{cfg.stream} stream: accuracy matrix R[i, j]")
    # Chance of the task just learned: its own classes (task-incremental) or all classes.
    chance = 1.0 / (cfg.classes_per_task if cfg.stream == "split" and cfg.scenario == "task_incremental"
                    else stream.n_classes)
    learned = max(float(m.diagonal().max()) for m in matrices.values())
    n_test = min(len(t.y_test) for t in stream.tasks)
    health = verdict([chance_problem(learned, chance, n_test, "best accuracy on a task just learned (any strategy)",
                                     "nothing was learned: check the learning rule, train and the device")])
    return {"strategies": {r["strategy"]: {k: v for k, v in r.items() if k != "strategy"} for r in rows},
            "tasks": names, **health}
