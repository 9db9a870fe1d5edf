"""Learning checks: EP trains a one-hidden-layer network on digits on an ideal chip (issue 5)."""

from __future__ import annotations

import torch

from memlearn.datasets import load_digits
from memlearn.devices.device import Device
from memlearn.devices.responses.ideal import Ideal
from memlearn.eqprop import (EPConfig, EnergyNetwork, EquilibriumPropagation, NudgeConfig, RelaxConfig, evaluate_ep,
                             train_epoch_ep)
from memlearn.nn.tile import TileConfig
from memlearn.rules import DeterministicPulse


def test_ep_on_ideal_tiles_learns_digits_to_90_percent():
    data = load_digits()
    net = EnergyNetwork([64, 64, 10], TileConfig(device=Device(response=Ideal(states=1000))), seed=0)
    cfg = EPConfig(free=RelaxConfig(max_steps=30, tol=1e-3), nudged=RelaxConfig(max_steps=10, tol=1e-3),
                   nudge=NudgeConfig(beta=0.5, mode="symmetric"))
    learner = EquilibriumPropagation(net, cfg, lr=0.1, rule=DeterministicPulse())
    before = evaluate_ep(net, data.x_test, data.y_test, cfg.free)
    g = torch.Generator().manual_seed(0)
    pulses_before = sum(int(t.array.n_writes.sum()) for t in net.tiles())
    for _ in range(3):
        info = train_epoch_ep(learner, data.x_train, data.y_train, 10, g)
    acc = evaluate_ep(net, data.x_test, data.y_test, cfg.free)
    assert before < 0.3
    assert acc >= 0.90, f"EP test accuracy {acc:.3f} after 3 epochs"
    assert info["free_steps"] < 30  # the free phase converges within its budget on average
    assert sum(int(t.array.n_writes.sum()) for t in net.tiles()) > pulses_before  # learning went through pulses
