"""Merging same-sign per-sample pulse trains is pulse-for-pulse identical to applying them in turn."""

from __future__ import annotations

import torch

from memlearn.devices.device import Device
from memlearn.devices.responses import SoftBounds
from memlearn.nn.tile import AnalogTile, TileConfig
from memlearn.rules.sign_runs import sign_runs


def test_sign_runs_merges_and_orders_runs():
    c = torch.tensor([[1, 0, -2], [2, 0, 0], [-1, 3, -1], [0, 0, 4], [3, 0, 4]])
    assert sign_runs(c).tolist() == [[3, 3, -3], [-1, 0, 8], [3, 0, 0]]
    assert sign_runs(torch.zeros(3, 2, dtype=torch.int32)).shape == (0, 2)


def test_runs_equal_the_sample_by_sample_writes_on_a_nonlinear_device():
    cfg = TileConfig(device=Device(response=SoftBounds(n_pulses=20, asymmetry=0.4)))
    g = torch.Generator().manual_seed(0)
    counts = torch.randint(-3, 4, (8, 5, 7), generator=g, dtype=torch.int32)
    counts[counts.abs() == 1] = 0
    one, two = AnalogTile(7, 5, cfg, seed=1), AnalogTile(7, 5, cfg, seed=1)
    for c in counts:
        one.apply_weight_pulses(c)
    runs = sign_runs(counts)
    assert runs.shape[0] <= counts.shape[0]
    for r in runs:
        two.apply_weight_pulses(r)
    assert torch.allclose(one.weights(), two.weights(), atol=1e-6)
    assert torch.equal(one.array.n_writes, two.array.n_writes)
