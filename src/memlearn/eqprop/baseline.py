"""Backprop baselines of an energy network: a feedforward twin and BPTT through the relaxation.

Why the readout is linear. EP's cost is ``1/2 |rho(s_L) - y|^2`` with the hard sigmoid
``rho = clip(., 0, 1)`` on the output. Differentiated exactly (backprop), that cost gives *zero*
gradient to an output unit whose drive ``h_L`` lies outside ``[0, 1]``: with zero biases and
Glorot weights about 3 in 4 output drives on digits start below 0, and squared error pushes the
nine wrong outputs of every sample further down, so whole output units die and their class is
never predicted again (a 64-64-10 twin trained that way reached 39% on digits, BPTT 10%). EP does
not suffer from this: its nudged output ``clip((h_L + beta y) / (1 + beta), 0, 1)`` moves toward
the target even when ``h_L < 0``, so its finite-beta estimate keeps a learning signal there. The
backprop baselines therefore put the same squared error on the output *drive* ``h_L`` (the
readout that EP's free phase clips), which agrees with EP's cost wherever ``0 <= h_L <= 1`` and
keeps a gradient outside it. Hidden units keep the hard sigmoid; layer sizes, initial weights
and biases, data, batch order, optimiser and learning rate are the caller's (the EP ones in
``benchmarks/tables/eqprop_table.py``). ``clip_output=True`` restores the exact EP cost, for the
record.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from memlearn.eqprop.energy import hard_sigmoid
from memlearn.eqprop.network import EnergyNetwork


class _HardSigmoid(nn.Module):
    def forward(self, u: Tensor) -> Tensor:
        return hard_sigmoid(u)


def backprop_twin(network: EnergyNetwork, *, clip_output: bool = False) -> nn.Sequential:
    """A float feedforward net with the network's layer sizes and *current* weights and biases:
    ``h_L = W_L rho(... rho(W_1 x + b_1) ...) + b_L`` with the hard sigmoid ``rho = clip(., 0, 1)``
    after every hidden layer, trained by backprop instead of EP (the comparison of Scellier &
    Bengio 2017, Sec. 5).

    The model returns the output drive ``h_L`` (linear readout; prediction ``argmax h_L``, which
    is ``argmax rho(h_L)`` without ties), and :func:`train_backprop_epoch` puts squared error on
    it: see the module docstring for why clipping the output kills backprop's gradient. With
    ``clip_output=True`` the model ends in ``rho`` as well, so that the training cost is exactly
    EP's ``1/2 |rho(s_L) - y|^2`` (this variant loses whole output units; 39% on digits in the
    table's setting).
    """
    layers: list[nn.Module] = []
    pairs = list(zip(network.weight_matrices(), network.bias_vectors()))
    for l, (w, b) in enumerate(pairs):
        lin = nn.Linear(w.shape[1], w.shape[0], device=w.device)
        with torch.no_grad():
            lin.weight.copy_(w)
            lin.bias.copy_(b)
        layers.append(lin)
        if l < len(pairs) - 1 or clip_output:
            layers.append(_HardSigmoid())
    return nn.Sequential(*layers)


def train_backprop_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, x: Tensor, y: Tensor, batch_size: int,
                         generator: torch.Generator) -> dict:
    """One pass of backprop with squared error ``1/2 |model(x) - onehot(y)|^2`` (batch mean):
    on the output drive for a :func:`backprop_twin` (EP's cost when it was built with
    ``clip_output=True``)."""
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
                     batch_size: int, generator: torch.Generator, n_steps: int, *, clip_output: bool = False) -> dict:
    """One pass of backprop through time on the *same* energy network (float weights): ``n_steps``
    block sweeps of the free phase from zero under autograd, squared error at the end, SGD on ``.grad``.

    The cost is ``1/2 |h_L - y|^2`` on the output drive ``h_L = W_{L-1} s_{L-1} + b_L`` of the
    last sweep (the value the output layer clips; the output has no layer above it, so
    ``s_L = rho(h_L)``), for the reason given in the module docstring; ``clip_output=True`` uses
    EP's ``1/2 |rho(s_L) - y|^2`` instead (dead outputs: 10% on digits in the table's setting).
    Prediction (here and in ``evaluate_ep``) is ``argmax s_L``.

    This is the recurrent-backprop baseline EP is compared with (Ernoult et al., NeurIPS 2019:
    at a converged fixed point BPTT and EP with beta -> 0 give the same gradient).

    Args:
        network: a float :class:`EnergyNetwork` (``analog=False``).
        n_steps: sweeps unrolled per batch (>= 1).
        clip_output: put the cost on ``rho(s_L)`` (EP's cost) instead of on ``h_L``.
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
        state = relax_tensors(weights, list(network.biases), xb, network.zero_state(xb), unroll).state
        out = state[-1]
        target = torch.nn.functional.one_hot(y[idx], n_out).to(out.dtype)
        if clip_output:
            loss = cost(out, target).mean()
        else:
            below = xb if len(state) == 1 else state[-2]
            drive = below @ weights[-1].T + network.biases[-1]
            loss = 0.5 * ((drive - target) ** 2).sum(1).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += float(loss.detach()) * len(idx)
        correct += int((out.detach().argmax(1) == y[idx]).sum())
    return {"loss": loss_sum / n, "accuracy": correct / n}
