"""Backprop twin of an energy network: the same layers as a feedforward net, for baselines."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from memlearn.eqprop.energy import hard_sigmoid
from memlearn.eqprop.network import EnergyNetwork


class _HardSigmoid(nn.Module):
    def forward(self, u: Tensor) -> Tensor:
        return hard_sigmoid(u)


def backprop_twin(network: EnergyNetwork) -> nn.Sequential:
    """A float feedforward net ``rho(W_L ... rho(W_1 x + b_1) ... + b_L)`` with the network's
    current weights and biases: the same architecture, cost (squared error on ``rho(s_L)``) and
    initial point, trained by backprop instead of EP (the comparison of Scellier & Bengio 2017,
    Sec. 5). Every layer ends in the hard sigmoid, as every EP unit does."""
    layers: list[nn.Module] = []
    for w, b in zip(network.weight_matrices(), network.bias_vectors()):
        lin = nn.Linear(w.shape[1], w.shape[0], device=w.device)
        with torch.no_grad():
            lin.weight.copy_(w)
            lin.bias.copy_(b)
        layers += [lin, _HardSigmoid()]
    return nn.Sequential(*layers)


def train_backprop_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, x: Tensor, y: Tensor, batch_size: int,
                         generator: torch.Generator) -> dict:
    """One pass of backprop with EP's cost ``1/2 |rho(s_L) - onehot(y)|^2`` (batch mean)."""
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} must be >= 1")
    n = int(x.shape[0])
    order = torch.randperm(n, generator=generator, device=generator.device).to(x.device)
    loss_sum, correct = 0.0, 0
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        out = model(x[idx])
        target = torch.nn.functional.one_hot(y[idx], out.shape[1]).to(out.dtype)
        loss = 0.5 * ((out - target) ** 2).sum(1).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += float(loss.detach()) * len(idx)
        correct += int((out.argmax(1) == y[idx]).sum())
    return {"loss": loss_sum / n, "accuracy": correct / n}


@torch.no_grad()
def evaluate_feedforward(model: nn.Module, x: Tensor, y: Tensor) -> float:
    """Accuracy (fraction) of ``argmax model(x)`` against ``y``."""
    return int((model(x).argmax(1) == y).sum()) / max(int(x.shape[0]), 1)


def train_bptt_epoch(network: EnergyNetwork, optimizer: torch.optim.Optimizer, x: Tensor, y: Tensor,
                     batch_size: int, generator: torch.Generator, n_steps: int) -> dict:
    """One pass of backprop through time on the *same* energy network (float weights): ``n_steps``
    block sweeps of the free phase from zero under autograd, EP's cost at the end, SGD on ``.grad``.

    This is the recurrent-backprop baseline EP is compared with (Ernoult et al., NeurIPS 2019:
    at a converged fixed point BPTT and EP with beta -> 0 give the same gradient).

    Args:
        network: a float :class:`EnergyNetwork` (``analog=False``).
        n_steps: sweeps unrolled per batch (>= 1).
    """
    from memlearn.eqprop.energy import cost
    from memlearn.eqprop.network import DigitalMatrix
    from memlearn.eqprop.relaxation import RelaxConfig, relax_tensors

    if network.analog:
        raise ValueError("train_bptt_epoch needs a float EnergyNetwork (analog=False): tiles have no autograd weights")
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} must be >= 1")
    unroll = RelaxConfig(max_steps=n_steps, tol=0.0)
    n = int(x.shape[0])
    n_out = network.sizes[-1]
    order = torch.randperm(n, generator=generator, device=generator.device).to(x.device)
    loss_sum, correct = 0.0, 0
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        xb = x[idx]
        weights = [m.weight for m in network.weights if isinstance(m, DigitalMatrix)]
        out = relax_tensors(weights, list(network.biases), xb, network.zero_state(xb), unroll).state[-1]
        target = torch.nn.functional.one_hot(y[idx], n_out).to(out.dtype)
        loss = cost(out, target).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += float(loss.detach()) * len(idx)
        correct += int((out.detach().argmax(1) == y[idx]).sum())
    return {"loss": loss_sum / n, "accuracy": correct / n}
