"""The shared training loop: float twin, determinism, learning on digits."""

from __future__ import annotations

import pytest
import torch

from memlearn.datasets import load_digits
from memlearn.devices.device import Device
from memlearn.devices.responses import Ideal
from memlearn.experiments.training import build_mlp, evaluate, train_epoch
from memlearn.nn.tile import TileConfig
from memlearn.rules import AnalogSGD, DeterministicPulse


def test_analog_mlp_with_ideal_devices_equals_its_float_twin():
    cfg = TileConfig(device=Device(response=Ideal(states=10**6)))
    analog = build_mlp((8, 6, 3), "tanh", cfg, seed=3)
    digital = build_mlp((8, 6, 3), "tanh", None, seed=3, analog=False)
    x = torch.rand(5, 8, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(analog(x), digital(x), atol=1e-4)


def test_train_epoch_is_deterministic_given_the_generator():
    data = load_digits()
    x, y = data.x_train[:200], data.y_train[:200]
    runs = []
    for _ in range(2):
        model = build_mlp((64, 16, 10), "relu", None, seed=1)
        opt = AnalogSGD(model, 0.1, DeterministicPulse())
        stats = train_epoch(model, opt, x, y, 16, torch.Generator().manual_seed(7))
        runs.append((stats, model[0].weight.clone()))
    assert runs[0][0] == runs[1][0]
    assert torch.equal(runs[0][1], runs[1][1])
    assert runs[0][0]["n_samples"] == 200 and 0 <= runs[0][0]["accuracy"] <= 1


def test_float_baseline_learns_digits():
    data = load_digits()
    model = build_mlp((64, 32, 10), "tanh", None, seed=0, analog=False)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    before = evaluate(model, data.x_test, data.y_test)
    for _ in range(3):
        train_epoch(model, opt, data.x_train, data.y_train, 10, torch.Generator().manual_seed(0))
    assert evaluate(model, data.x_test, data.y_test) > max(0.9, before)


@pytest.mark.parametrize("kwargs, field", [(dict(sizes=(4,)), "sizes"), (dict(activation="gelu"), "activation")])
def test_build_mlp_validates(kwargs, field):
    args = dict(sizes=(4, 2), activation="tanh", tile_config=None, seed=0) | kwargs
    with pytest.raises(ValueError, match=field):
        build_mlp(**args)
