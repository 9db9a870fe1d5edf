"""Noise-injected training keeps its accuracy after deployment with 5% programming noise; plain
training loses more (both trained and deployed here, fixed seeds)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from memlearn.datasets import load_digits
from memlearn.devices.device import Device
from memlearn.devices.responses.ideal import Ideal
from memlearn.hardware_aware import (
    ChipConfig,
    ProgrammingNoise,
    accuracy,
    config_for_chip,
    evaluate_over_time,
    prepare_hardware_aware,
)
from memlearn.nn import TileConfig


def _train(data, config, seed=0, epochs=30, batch_size=32):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    if config is not None:
        prepare_hardware_aware(model, config, seed=seed)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    n = len(data.x_train)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, batch_size):
            idx = perm[i:i + batch_size]
            loss = nn.functional.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


@pytest.mark.slow
def test_noise_injected_training_survives_5_percent_programming_noise():
    data = load_digits()
    noise = ProgrammingNoise(additive=0.05)  # 5% of the conductance range per device
    chip = ChipConfig(tile=TileConfig(device=Device(response=Ideal(states=1000))), programming_noise=noise)
    plain = _train(data, None)
    aware = _train(data, config_for_chip(chip, programming_noise=noise))
    results = {}
    for name, model in (("plain", plain), ("aware", aware)):
        ev = evaluate_over_time(model, chip, data.x_test, data.y_test, n_chips=10, times={"1 s": 1.0})
        float_acc = accuracy(model, data.x_test, data.y_test)
        results[name] = (float_acc, float(ev.uncompensated.mean()), float(ev.uncompensated.std()))
    print(results)
    (f_plain, d_plain, s_plain), (f_aware, d_aware, s_aware) = results["plain"], results["aware"]
    assert f_plain > 0.95 and f_aware > 0.95
    assert d_aware >= 0.85
    # Standard error of a 10-chip mean is std / sqrt(10); require a gap of > 2 standard errors.
    margin = 2 * ((s_plain ** 2 + s_aware ** 2) / 10) ** 0.5
    assert d_aware - d_plain > margin
    assert f_plain - d_plain > f_aware - d_aware
