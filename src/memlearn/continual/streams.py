"""Task streams from any classification data set: split (class-/task-incremental), permuted, drifting."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from memlearn.datasets import Dataset

SCENARIOS = ("class_incremental", "task_incremental", "domain_incremental")


@dataclass(frozen=True)
class Task:
    """One task of a stream.

    Args:
        name: label for tables and plots.
        x_train, y_train, x_test, y_test: inputs (n, features) and integer labels (n,).
        classes: output units this task may use, or ``None`` for all of them. Task-incremental
            streams set it so that training and evaluation mask the other outputs (a multi-head
            network sharing one output layer, van de Ven & Tolias, arXiv 2019, "Three scenarios
            for continual learning").
    """

    name: str
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    classes: Tensor | None = None
    mask_test: bool = True
    """False: ``classes`` masks the outputs during training only (class-incremental "labels trick",
    Zeno et al., arXiv 2018: each task's softmax covers its own classes, test uses all outputs)."""

    def output_mask(self, n_outputs: int, training: bool = False) -> Tensor | None:
        """Boolean (n_outputs,) mask of usable outputs, or None when all are usable."""
        if self.classes is None or not (training or self.mask_test):
            return None
        mask = torch.zeros(n_outputs, dtype=torch.bool, device=self.x_train.device)
        mask[self.classes.to(mask.device)] = True
        return mask


@dataclass(frozen=True)
class TaskStream:
    """An ordered list of tasks sharing one input size and one output layer of ``n_classes`` units."""

    tasks: tuple[Task, ...]
    n_classes: int
    scenario: str

    def __post_init__(self) -> None:
        if self.scenario not in SCENARIOS:
            raise ValueError(f"scenario={self.scenario!r} is not one of {SCENARIOS}")
        if len(self.tasks) < 1:
            raise ValueError("a task stream needs at least one task")

    def __len__(self) -> int:
        return len(self.tasks)

    @property
    def n_features(self) -> int:
        return int(self.tasks[0].x_train.shape[1])


def split_tasks(data: Dataset, classes_per_task: int = 2, scenario: str = "class_incremental",
                labels_trick: bool = False) -> TaskStream:
    """Split a data set by class: classes ``0..k-1`` form task 0, the next ``k`` task 1, and so on
    (split MNIST of Zenke et al., ICML 2017).

    Args:
        data: the data set (labels ``0..C-1``).
        classes_per_task: classes per task (>= 1, must divide C).
        scenario: ``class_incremental`` (one shared head, no task identity at test time),
            ``task_incremental`` (outputs masked to the task's classes) or ``domain_incremental``
            (every task relabelled ``y - first class of the task``, one head of
            ``classes_per_task`` outputs: "is it the task's first or second digit", without task
            identity; van de Ven & Tolias, arXiv 2019).
        labels_trick: class-incremental only: train each task's softmax over its own classes
            (Zeno et al., arXiv 2018), still test over all outputs without task identity.
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario={scenario!r}: split tasks are one of {SCENARIOS}")
    if labels_trick and scenario == "domain_incremental":
        raise ValueError("labels_trick applies to class_incremental split tasks only")
    n_classes = data.n_classes
    if classes_per_task < 1 or n_classes % classes_per_task != 0:
        raise ValueError(f"classes_per_task={classes_per_task!r} must be >= 1 and divide the {n_classes} classes")
    tasks = []
    domain = scenario == "domain_incremental"
    for t in range(n_classes // classes_per_task):
        cls = torch.arange(t * classes_per_task, (t + 1) * classes_per_task)
        tr = torch.isin(data.y_train, cls.to(data.y_train.device))
        te = torch.isin(data.y_test, cls.to(data.y_test.device))
        shift = t * classes_per_task if domain else 0
        tasks.append(Task(name="/".join(str(int(c)) for c in cls), x_train=data.x_train[tr], y_train=data.y_train[tr] - shift,
                          x_test=data.x_test[te], y_test=data.y_test[te] - shift,
                          classes=cls if (scenario == "task_incremental" or labels_trick) else None,
                          mask_test=scenario == "task_incremental"))
    return TaskStream(tasks=tuple(tasks), n_classes=classes_per_task if domain else n_classes, scenario=scenario)


def permuted_tasks(data: Dataset, n_tasks: int, generator: torch.Generator) -> TaskStream:
    """Permuted inputs (domain-incremental): task 0 is the data set itself, task ``t`` applies a
    fixed random pixel permutation to every input (permuted MNIST, Goodfellow et al., ICLR 2014;
    Kirkpatrick et al., PNAS 2017)."""
    if n_tasks < 1:
        raise ValueError(f"n_tasks={n_tasks!r} must be >= 1")
    f = data.n_features
    tasks = []
    for t in range(n_tasks):
        perm = torch.arange(f) if t == 0 else torch.randperm(f, generator=generator)
        perm = perm.to(data.x_train.device)
        tasks.append(Task(name=f"perm{t}", x_train=data.x_train[:, perm], y_train=data.y_train,
                          x_test=data.x_test[:, perm], y_test=data.y_test))
    return TaskStream(tasks=tuple(tasks), n_classes=data.n_classes, scenario="domain_incremental")


def drifting_tasks(data: Dataset, n_tasks: int, magnitude: float, generator: torch.Generator) -> TaskStream:
    """Slow input drift (domain-incremental): task ``t`` sees ``x (1 + s_t a) + s_t o`` with
    ``s_t = magnitude * t / (n_tasks - 1)`` and per-feature gain/offset directions ``a, o ~ N(0, 1)``
    drawn once: the slow per-channel gain and offset drift of sensor arrays (Vergara et al.,
    Sens. Actuators B 2012, gas-sensor drift data set).

    Args:
        magnitude: relative drift reached by the last task (>= 0; 0.5 = half a pixel range).
    """
    if n_tasks < 1:
        raise ValueError(f"n_tasks={n_tasks!r} must be >= 1")
    if not 0 <= magnitude <= 10:
        raise ValueError(f"magnitude={magnitude!r} is outside its allowed range [0, 10]")
    f = data.n_features
    gain = torch.randn(f, generator=generator).to(data.x_train)
    offset = torch.randn(f, generator=generator).to(data.x_train)
    tasks = []
    for t in range(n_tasks):
        s = magnitude * t / max(n_tasks - 1, 1)
        warp = lambda x: x * (1 + s * gain) + s * offset
        tasks.append(Task(name=f"drift{t}", x_train=warp(data.x_train), y_train=data.y_train,
                          x_test=warp(data.x_test), y_test=data.y_test))
    return TaskStream(tasks=tuple(tasks), n_classes=data.n_classes, scenario="domain_incremental")
