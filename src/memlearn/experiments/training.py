"""Supervised training loop shared by experiment kinds: build an MLP, train an epoch, evaluate.

The loop is the same for analog and float models: ``loss.backward()`` then ``optimizer.step()``.
With :class:`memlearn.rules.AnalogSGD` every analog weight change is a set of pulses decided by the
optimizer's rule; with a torch optimizer (float baseline) it is an ordinary float step.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor, nn

from memlearn.nn.linear import AnalogLinear
from memlearn.nn.tile import TileConfig

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "identity": nn.Identity,
}


def build_mlp(sizes: list[int] | tuple[int, ...], activation: str = "tanh", tile_config: TileConfig | None = None,
              seed: int = 0, analog: bool = True, *, device: torch.device | str | None = None) -> nn.Sequential:
    """A multilayer perceptron ``sizes[0] -> ... -> sizes[-1]`` (logits out, no final activation).

    Args:
        sizes: layer widths including input and output, e.g. ``(64, 32, 10)``; at least two.
        activation: hidden nonlinearity, one of ``tanh``, ``relu``, ``sigmoid``, ``identity``.
        tile_config: the analog tiles' physics (ignored when ``analog`` is False).
        seed: layer ``i`` uses seed ``seed + 1000 * i`` (tile generator and weight init).
        analog: True gives :class:`AnalogLinear` layers, False ``nn.Linear`` layers with the
            *same* initial weights and biases (the float twin, for baselines).
        device: torch device of the parameters and tiles.
    """
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"sizes={sizes!r} must list at least two layer widths, each >= 1")
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation={activation!r} is not one of {sorted(_ACTIVATIONS)}")
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layer_seed = seed + 1000 * i
        if analog:
            layers.append(AnalogLinear(n_in, n_out, bias=True, config=tile_config, seed=layer_seed, device=device))
        else:
            layers.append(_float_linear(n_in, n_out, layer_seed, device))
        if i < len(sizes) - 2:
            layers.append(_ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


def _float_linear(n_in: int, n_out: int, seed: int, device: torch.device | str | None) -> nn.Linear:
    """``nn.Linear`` initialised exactly like :class:`AnalogLinear` with the same seed."""
    layer = nn.Linear(n_in, n_out, device=device)
    bound = 1.0 / math.sqrt(n_in)
    init = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        layer.weight.copy_((torch.rand(n_out, n_in, generator=init) * 2 - 1) * bound)
        layer.bias.copy_((torch.rand(n_out, generator=init) * 2 - 1) * bound)
    return layer


def train_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, x: Tensor, y: Tensor, batch_size: int,
                generator: torch.Generator, on_batch: Callable[[dict], None] | None = None) -> dict:
    """One pass over ``(x, y)`` in a random order drawn from ``generator``; cross-entropy loss.

    Args:
        model: maps (batch, features) to logits (batch, classes).
        optimizer: stepped once per mini-batch (``AnalogSGD`` or any torch optimizer).
        x: inputs (n, features); y: integer labels (n,).
        batch_size: samples per update (>= 1); the last batch may be smaller.
        generator: decides the sample order (CPU generator; the permutation moves to ``x``'s device).
        on_batch: called after every step with ``{"step", "loss"}`` (costs one device sync per batch).

    Returns:
        ``{"loss": mean training loss, "accuracy": training accuracy during the epoch, "n_samples": n}``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} must be >= 1")
    n = int(x.shape[0])
    if n == 0 or y.shape[0] != n:
        raise ValueError(f"x has {n} samples and y {y.shape[0]}; need the same, >= 1")
    model.train()
    order = torch.randperm(n, generator=generator, device=generator.device).to(x.device)
    loss_fn = nn.CrossEntropyLoss()
    loss_sum = torch.zeros((), device=x.device)
    correct = torch.zeros((), dtype=torch.int64, device=x.device)
    for step, start in enumerate(range(0, n, batch_size)):
        idx = order[start:start + batch_size]
        xb, yb = x[idx], y[idx]
        logits = model(xb)
        loss = loss_fn(logits, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            loss_sum += loss.detach() * len(idx)
            correct += (logits.argmax(dim=1) == yb).sum()
        if on_batch is not None:
            on_batch({"step": step, "loss": float(loss.detach())})
    return {"loss": float(loss_sum) / n, "accuracy": float(correct) / n, "n_samples": n}


@torch.no_grad()
def evaluate(model: nn.Module, x: Tensor, y: Tensor, batch_size: int = 1024) -> float:
    """Classification accuracy of ``model`` on ``(x, y)`` (fraction in [0, 1]), in eval mode."""
    was_training = model.training
    model.eval()
    correct = 0
    for start in range(0, int(x.shape[0]), batch_size):
        logits = model(x[start:start + batch_size])
        correct += int((logits.argmax(dim=1) == y[start:start + batch_size]).sum())
    model.train(was_training)
    return correct / max(int(x.shape[0]), 1)
