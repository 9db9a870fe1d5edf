"""The pulse gate of the continual-learning strategies: a per-weight factor on every pulse count."""

from __future__ import annotations

import torch
from torch import Tensor

from memlearn.nn.pulses import Pulses


def gate_pulses(n_w: Tensor, gate: Tensor, generator: torch.Generator) -> Tensor:
    """Scale integer pulse counts by ``gate`` in [0, 1] with unbiased stochastic rounding:
    ``n' = sign(n) floor(|n| gate + u)``, ``u ~ U[0, 1)``, so ``E[n'] = n gate`` (stochastic rounding
    as in Gupta et al., ICML 2015). One uniform is drawn per entry of ``n_w``."""
    scaled = n_w.abs().to(gate.dtype) * gate
    u = torch.rand(scaled.shape, generator=generator, device=scaled.device, dtype=scaled.dtype)
    out = torch.floor(scaled + u) * n_w.sign().to(scaled.dtype)
    return torch.where(n_w == 0, torch.zeros_like(out), out).to(n_w.dtype)


def gated(pulses: Pulses, gate: Tensor, generator: torch.Generator) -> Pulses:
    """``pulses`` (either layout) with every count of weight ``ij`` scaled by ``gate[i, j]``
    (:func:`gate_pulses`): how a strategy in ``chain(rule, strategy)`` gates *any* rule's pulses
    without knowing how the rule works."""
    pulses = pulses.as_events()
    if pulses.index is None:
        return Pulses.dense(gate_pulses(pulses.counts, gate, generator))
    counts = gate_pulses(pulses.counts, gate.reshape(-1).index_select(0, pulses.index), generator)
    return Pulses.events(pulses.index, counts, pulses.lengths)
