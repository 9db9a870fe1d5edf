"""On-chip learning checks on real data and on a strongly asymmetric device (fixed seeds)."""

from __future__ import annotations

import torch

from memlearn.datasets import load_digits
from memlearn.devices.device import Device
from memlearn.devices.presets import get_preset
from memlearn.devices.responses import SoftBounds
from memlearn.experiments.training import build_mlp, evaluate, train_epoch
from memlearn.nn.tile import AnalogTile, TileConfig
from memlearn.rules import AnalogSGD, StochasticPulse, TikiTaka, UpdateRequest
from memlearn.rules.rule import apply_update


def test_digits_mlp_trains_on_chip_with_soft_bounds_and_stochastic_pulses():
    data = load_digits()
    model = build_mlp((64, 32, 10), "tanh", TileConfig(device=get_preset("ReRAM_SB")), seed=0)
    opt = AnalogSGD(model, lr=0.1, rule=StochasticPulse())
    order = torch.Generator().manual_seed(0)
    for _ in range(4):
        train_epoch(model, opt, data.x_train, data.y_train, batch_size=10, generator=order)
    acc = evaluate(model, data.x_test, data.y_test)
    assert acc >= 0.90, f"test accuracy {acc:.3f} < 0.90"
    assert opt.accounting()["pulses"] > 0


def _regression_error(rule, steps: int = 500) -> float:
    """RMS weight error after learning a noisy linear map ``y = W x + noise`` on one tile."""
    # Strongly asymmetric soft-bounds devices whose symmetry points scatter from device to device
    # (up/down imbalance 0.7 +- 0.3): SGD settles where gradient noise balances each device's
    # drift to its own symmetry point (Gokmen & Haensch 2020, Sec. 2).
    cfg = TileConfig(device=Device(response=SoftBounds(n_pulses=100, asymmetry=0.7, d2d_asymmetry=0.3)))
    target = torch.rand(8, 16, generator=torch.Generator().manual_seed(1)) - 0.5
    tile = AnalogTile(16, 8, cfg, seed=0)
    tile.set_weights_exact(torch.zeros(8, 16))
    state = rule.init(tile)
    data = torch.Generator().manual_seed(2)
    for _ in range(steps):
        x = torch.rand(10, 16, generator=data) * 2 - 1
        noise = 0.5 * torch.randn(10, 8, generator=data)
        d = (x @ tile.weights().T - x @ target.T - noise) / 10
        state = apply_update(rule, UpdateRequest(x, d, 0.1), tile, state, tile.generator)
    return float((tile.weights() - target).pow(2).mean().sqrt())


def test_tiki_taka_beats_plain_sgd_on_a_strongly_asymmetric_device():
    sgd = _regression_error(StochasticPulse())
    tiki_taka = _regression_error(TikiTaka(transfer_lr=0.1))
    assert tiki_taka < 0.6 * sgd, f"Tiki-Taka error {tiki_taka:.4f} vs plain SGD {sgd:.4f}"
