"""Write-verify programming reaches its tolerance on a soft-bounds device, counting every pulse."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from memlearn.crossbar.crossbar import Crossbar
from memlearn.crossbar.programming import WriteVerify
from memlearn.devices.presets import get_preset
from memlearn.nn import AnalogTile, TileConfig


def test_write_verify_reaches_tolerance_on_soft_bounds_preset():
    device = get_preset("ReRAM_SB")  # soft bounds, d2d step 30%, c2c noise
    programmer = WriteVerify(tolerance=0.02, max_iterations=50)
    tile = AnalogTile(32, 16, TileConfig(device=device, programmer=programmer), seed=0)
    tile.array.reset()
    w = torch.rand(16, 32, generator=torch.Generator().manual_seed(1)) * 1.6 - 0.8
    result = tile.program(w)
    assert result.converged >= 0.99, result
    assert result.iterations <= 50
    # device tolerance 2% of range per device -> weight error of a pair <= ~4% of w_max
    assert result.weight_error < 0.03
    assert float((tile.weights() - w).abs().median()) < 0.02
    assert result.pulses > 0 and tile.cost.n_pulses == result.pulses
    assert tile.cost.energy_write > 0 and tile.cost.latency_write > 0


def test_write_verify_on_crossbar_directly():
    device = get_preset("ReRAM_SB")
    xbar = Crossbar(8, 8, device, torch.Generator().manual_seed(0))
    state = xbar.state
    target = state.g_min + (state.g_max - state.g_min) * torch.rand(8, 8, generator=torch.Generator().manual_seed(2))
    result = WriteVerify(tolerance=0.01, max_iterations=60, noisy_verify=False).program(
        xbar, target, torch.Generator().manual_seed(3))
    tol = 0.01 * (state.g_max - state.g_min)
    assert bool(((xbar.g - target).abs() <= tol).all())
    assert result.converged == 1.0 and result.weight_error <= float(tol.max())
    assert int(xbar.n_writes.sum()) == result.pulses


def test_faulty_devices_are_skipped():
    from memlearn.devices.faults import Faults

    device = dataclasses.replace(get_preset("ReRAM_SB"), faults=Faults(stuck_at_gmin=0.2))
    xbar = Crossbar(16, 16, device, torch.Generator().manual_seed(0))
    stuck = xbar.state.fault != 0
    assert bool(stuck.any())
    target = torch.full((16, 16), 5e-6)
    WriteVerify(max_iterations=20).program(xbar, target, torch.Generator().manual_seed(1))
    assert int(xbar.n_writes[stuck].sum()) == 0


def test_validation():
    with pytest.raises(ValueError, match="programmer.tolerance"):
        WriteVerify(tolerance=0.0)
    with pytest.raises(ValueError, match="programmer.max_iterations"):
        WriteVerify(max_iterations=0)
