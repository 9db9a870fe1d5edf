"""The float twin of a continual-learning run: the same stream, network and budget learned by a
digital network, so that device effects and algorithm effects can be told apart.

Strategies (digital versions of the chip's):

* ``none``: plain fine-tuning;
* ``ewc``: elastic weight consolidation, ``L + (lambda / 2) sum_k sum_i F_k,i (theta_i - theta*_k,i)^2``
  with one diagonal Fisher ``F_k`` per past task (offline EWC), ``F = E_x[(d log p(y_hat | x) / d theta)^2]``
  at the model's own predicted label ``y_hat`` over the task's training set (Kirkpatrick et al.,
  PNAS 2017);
* ``si``: synaptic intelligence, ``L + c sum_i Omega_i (theta_i - theta*_i)^2``,
  ``Omega += omega / (Delta^2 + xi)`` with ``omega = -sum_steps g_i dtheta_i`` the path integral over
  each task and ``Delta`` the task's total change (Zenke et al., ICML 2017, Eq. 4-5);
* ``replay``: exact replay of ``budget_per_class`` stored samples per seen class; loss
  ``(1/t) L_current + (1 - 1/t) L_replay`` in task ``t`` (van de Ven et al., Nat. Mach. Intell. 2022).

The default hyper-parameters are those of van de Ven & Tolias, "Three scenarios for continual
learning", arXiv:1904.07734 (2019), for split MNIST (2000 iterations per task, Adam lr 1e-3,
batch 128, two hidden layers of 400 ReLU units; EWC lambda and SI c per scenario in
:data:`VAN_DE_VEN_STRENGTH`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from memlearn.continual.consolidation import fisher_diagonal as consolidation_fisher
from memlearn.continual.streams import Task, TaskStream
from memlearn.validation import check_range

FLOAT_STRATEGIES = ("none", "ewc", "si", "replay")

VAN_DE_VEN_STRENGTH: dict[str, dict[str, float]] = {
    "task_incremental": {"ewc": 1e5, "si": 10.0},
    "domain_incremental": {"ewc": 1e10, "si": 5e4},
    "class_incremental": {"ewc": 1e9, "si": 5e3},
}
"""EWC lambda and SI c for split MNIST per scenario (van de Ven & Tolias 2019; their code's defaults)."""


@dataclass(frozen=True, kw_only=True)
class FloatTraining:
    """Digital training schedule per task."""

    iterations: int = 2000
    """Optimizer steps per task (>= 1)."""
    batch_size: int = 128
    """Samples per step (>= 1)."""
    lr: float = 1e-3
    """Learning rate (> 0)."""
    optimizer: str = "adam"
    """"adam" (betas 0.9, 0.999) or "sgd" (plain, the chip rules' digital twin)."""

    def __post_init__(self) -> None:
        check_range("iterations", self.iterations, 1, 1e9)
        check_range("batch_size", self.batch_size, 1, 1e7)
        check_range("lr", self.lr, 1e-12, 1e3)
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer={self.optimizer!r} must be 'adam' or 'sgd'")


@dataclass(frozen=True, kw_only=True)
class FloatStrategy:
    """Which digital continual-learning strategy, and its strength."""

    name: str = "none"
    """One of none, ewc, si, replay."""
    strength: float = 1.0
    """EWC lambda or SI c (>= 0)."""
    damping: float = 0.1
    """SI damping xi (> 0)."""
    budget_per_class: int = 100
    """Replay: stored samples per class (>= 1)."""
    fisher_samples: int | None = None
    """EWC: random training samples per task for the Fisher (None = all, as van de Ven & Tolias)."""

    def __post_init__(self) -> None:
        if self.name not in FLOAT_STRATEGIES:
            raise ValueError(f"name={self.name!r} is not one of {FLOAT_STRATEGIES}")
        check_range("strength", self.strength, 0.0, 1e15)
        check_range("damping", self.damping, 1e-12, 1e6)
        check_range("budget_per_class", self.budget_per_class, 1, 1e9)


def _masked(logits: Tensor, mask: Tensor | None) -> Tensor:
    return logits if mask is None else logits.masked_fill(~mask, float("-inf"))


@torch.no_grad()
def evaluate(model: nn.Module, task: Task, n_outputs: int, batch: int = 2000) -> float:
    """Test accuracy on ``task`` (outputs masked to its classes in task-incremental streams)."""
    model.eval()
    mask = task.output_mask(n_outputs)
    correct = 0
    for i in range(0, len(task.y_test), batch):
        logits = _masked(model(task.x_test[i:i + batch]), mask)
        correct += int((logits.argmax(1) == task.y_test[i:i + batch]).sum())
    model.train()
    return correct / max(len(task.y_test), 1)


def fisher_diagonal(model: nn.Module, task: Task, n_outputs: int, n_samples: int | None,
                    generator: torch.Generator, chunk: int = 500) -> dict[str, Tensor]:
    """EWC's diagonal Fisher at the model's predicted labels, per parameter (mean over samples).

    Per-sample gradients of a linear layer are outer products ``d_s x_s^T``, so the weight Fisher is
    ``mean_s (d_s^2)^T (x_s^2)`` (:func:`memlearn.continual.consolidation.fisher_diagonal`) and the
    bias Fisher ``mean_s d_s^2``: one backward pass per chunk, no per-sample loop. Only
    ``nn.Linear`` layers are supported (the twin is an MLP)."""
    linears = {name: m for name, m in model.named_modules() if isinstance(m, nn.Linear)}
    if not linears or any(p.requires_grad for n, p in model.named_parameters()
                          if n.rpartition(".")[0] not in linears):
        raise TypeError("fisher_diagonal supports models whose parameters all belong to nn.Linear layers")
    mask = task.output_mask(n_outputs, training=True)
    x = task.x_train
    if n_samples is not None and n_samples < len(x):
        x = x[torch.randperm(len(x), generator=generator)[:n_samples].to(x.device)]
    fisher = {k: torch.zeros_like(p) for k, p in model.named_parameters()}
    inputs: dict[str, Tensor] = {}
    outputs: dict[str, Tensor] = {}

    def keep(name: str):
        def hook(module: nn.Module, args: tuple, out: Tensor) -> None:
            inputs[name] = args[0].detach()
            out.retain_grad()
            outputs[name] = out
        return hook

    handles = [m.register_forward_hook(keep(name)) for name, m in linears.items()]
    try:
        for i in range(0, len(x), chunk):
            logits = _masked(model(x[i:i + chunk]), mask)
            label = logits.detach().argmax(1)
            # summed loss: row s of each layer's output gradient is the gradient of sample s's loss
            nn.functional.cross_entropy(logits, label, reduction="sum").backward()
            for name in linears:
                d = outputs[name].grad
                fisher[f"{name}.weight"] += consolidation_fisher(inputs[name], d) * len(d)
                fisher[f"{name}.bias"] += d.square().sum(0)
            model.zero_grad(set_to_none=True)
    finally:
        for h in handles:
            h.remove()
    return {k: v / max(len(x), 1) for k, v in fisher.items()}


class _Replay:
    """Exact replay memory: ``budget_per_class`` random samples of every class seen (with its task mask)."""

    def __init__(self, budget: int) -> None:
        self.budget = int(budget)
        self.x: list[Tensor] = []
        self.y: list[Tensor] = []
        self.m: list[Tensor] = []

    def add(self, task: Task, n_outputs: int, generator: torch.Generator) -> None:
        mask = task.output_mask(n_outputs, training=True)
        for c in torch.unique(task.y_train):
            idx = torch.nonzero(task.y_train == c).flatten()
            idx = idx[torch.randperm(len(idx), generator=generator)[:self.budget].to(idx.device)]
            self.x.append(task.x_train[idx])
            self.y.append(task.y_train[idx])
            full = torch.ones(n_outputs, dtype=torch.bool, device=idx.device) if mask is None else mask
            self.m.append(full.expand(len(idx), -1))

    def sample(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
        x, y, m = torch.cat(self.x), torch.cat(self.y), torch.cat(self.m)
        idx = torch.randint(0, len(y), (n,), generator=generator).to(y.device)
        return x[idx], y[idx], m[idx]


def run_float_stream(model: nn.Module, stream: TaskStream, strategy: FloatStrategy, training: FloatTraining,
                     generator: torch.Generator) -> Tensor:
    """Learn ``stream`` task after task with a digital ``model``; returns the accuracy matrix
    ``R[i, j]`` (test accuracy on task ``j`` after training tasks ``0..i``)."""
    c, n_tasks = stream.n_classes, len(stream)
    params = [p for p in model.parameters() if p.requires_grad]
    make = torch.optim.Adam if training.optimizer == "adam" else torch.optim.SGD
    kwargs = {"betas": (0.9, 0.999)} if training.optimizer == "adam" else {}
    acc = torch.zeros(n_tasks, n_tasks)
    anchors: list[tuple[dict[str, Tensor], dict[str, Tensor]]] = []  # (theta*, importance) per past task (EWC) or one (SI)
    omega_total = {k: torch.zeros_like(p) for k, p in model.named_parameters()}
    replay = _Replay(strategy.budget_per_class) if strategy.name == "replay" else None
    model.train()
    for t, task in enumerate(stream.tasks):
        opt = make(params, lr=training.lr, **kwargs)
        mask = task.output_mask(c, training=True)
        start = {k: p.detach().clone() for k, p in model.named_parameters()}
        path = {k: torch.zeros_like(p) for k, p in model.named_parameters()}
        n = len(task.y_train)
        order, pos = torch.randperm(n, generator=generator), 0
        for _ in range(training.iterations):
            if pos + training.batch_size > n:
                order, pos = torch.randperm(n, generator=generator), 0
            idx = order[pos:pos + training.batch_size].to(task.x_train.device)
            pos += training.batch_size
            loss = nn.functional.cross_entropy(_masked(model(task.x_train[idx]), mask), task.y_train[idx])
            if replay is not None and t > 0:
                xr, yr, mr = replay.sample(training.batch_size, generator)
                loss_r = nn.functional.cross_entropy(_masked(model(xr), mr), yr)
                loss = loss / (t + 1) + loss_r * (1 - 1 / (t + 1))
            if anchors:
                named = dict(model.named_parameters())
                scale = 0.5 if strategy.name == "ewc" else 1.0
                loss = loss + strategy.strength * scale * sum(
                    (imp[k] * (named[k] - ref[k]).square()).sum() for ref, imp in anchors for k in ref)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if strategy.name == "si":
                before = {k: p.detach().clone() for k, p in model.named_parameters()}
                grads = {k: p.grad.detach().clone() for k, p in model.named_parameters()}
            opt.step()
            if strategy.name == "si":
                for k, p in model.named_parameters():
                    path[k] -= grads[k] * (p.detach() - before[k])
        if strategy.name == "ewc":
            anchors.append(({k: p.detach().clone() for k, p in model.named_parameters()},
                            fisher_diagonal(model, task, c, strategy.fisher_samples, generator)))
        elif strategy.name == "si":
            for k, p in model.named_parameters():
                omega_total[k] += path[k] / ((p.detach() - start[k]).square() + strategy.damping)
            anchors = [({k: p.detach().clone() for k, p in model.named_parameters()},
                        {k: v.clone() for k, v in omega_total.items()})]
        if replay is not None:
            replay.add(task, c, generator)
        acc[t] = torch.tensor([evaluate(model, s, c) for s in stream.tasks])
    return acc


@torch.no_grad()
def mlp(sizes: list[int], seed: int, activation: str = "relu") -> nn.Sequential:
    """``sizes[0] - ... - sizes[-1]`` fully connected network; weights and biases uniform in
    ``+-1/sqrt(fan_in)`` (torch's default bound) from a generator seeded with ``seed``."""
    if activation not in ("relu", "tanh"):
        raise ValueError(f"activation={activation!r} must be 'relu' or 'tanh'")
    gen = torch.Generator().manual_seed(seed)
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layer = nn.Linear(sizes[i], sizes[i + 1])
        bound = sizes[i] ** -0.5
        layer.weight.copy_((torch.rand(layer.weight.shape, generator=gen) * 2 - 1) * bound)
        layer.bias.copy_((torch.rand(layer.bias.shape, generator=gen) * 2 - 1) * bound)
        layers.append(layer)
        if i < len(sizes) - 2:
            layers.append(nn.ReLU() if activation == "relu" else nn.Tanh())
    return nn.Sequential(*layers)
