"""Read noise, drift, faults and endurance."""

from __future__ import annotations

import math

import torch

from memlearn.devices import Device, Drift, Faults, ReadNoise, SoftBounds
from memlearn.devices.state import FREE, STUCK_AT_GMAX, STUCK_AT_GMIN, WORN_OUT


def test_drift_power_law_with_device_spread():
    dev = Device(response=SoftBounds(), drift=Drift(nu_mean=0.06, nu_std=0.02, t0=2.0))
    state = dev.sample((20000,), torch.Generator().manual_seed(0))
    nu = state.drift_nu
    assert abs(float(nu.mean()) - 0.06) < 5 * 0.02 / math.sqrt(20000)
    assert abs(float(nu.std()) - 0.02) < 5 * 0.02 / math.sqrt(2 * 20000)
    g = torch.full((20000,), 5e-6)
    torch.testing.assert_close(dev.read(g, state, t=2.0), g)
    torch.testing.assert_close(dev.read(g, state, t=2.0 * 1000), g * 1000.0 ** (-nu))


def test_read_noise_is_conductance_dependent():
    dev = Device(response=SoftBounds(), read_noise=ReadNoise(relative=0.05, absolute=0.0))
    state = dev.sample((20000,), torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(1)
    for level in (2e-6, 8e-6):
        g = torch.full((20000,), level)
        r = dev.read(g, state, generator=gen)
        assert abs(float(r.mean()) - level) < 5 * 0.05 * level / math.sqrt(20000)
        assert abs(float(r.std()) / (0.05 * level) - 1) < 5 / math.sqrt(2 * 20000)


def test_stuck_fractions_and_values():
    n = 40000
    dev = Device(response=SoftBounds(), faults=Faults(stuck_at_gmin=0.02, stuck_at_gmax=0.05))
    state = dev.sample((n,), torch.Generator().manual_seed(0))
    for code, p in ((STUCK_AT_GMIN, 0.02), (STUCK_AT_GMAX, 0.05)):
        frac = float((state.fault == code).float().mean())
        assert abs(frac - p) < 5 * math.sqrt(p * (1 - p) / n)
    g = dev.initial(state)
    assert torch.equal(g[state.fault == STUCK_AT_GMAX], state.g_max[state.fault == STUCK_AT_GMAX])
    after = dev.pulse(g, torch.full((n,), -5), state, torch.Generator())
    stuck = state.fault != FREE
    assert torch.equal(after[stuck], g[stuck])
    assert (after[~stuck] <= g[~stuck]).all()


def test_endurance_wears_devices_out():
    dev = Device(response=SoftBounds(n_pulses=10), faults=Faults(endurance=100, endurance_spread=0.0))
    state = dev.sample((6,), torch.Generator().manual_seed(0))
    writes = torch.tensor([0, 50, 100, 101, 500, 99])
    worn = dev.wear(state, writes)
    assert worn.fault.tolist() == [FREE, FREE, FREE, WORN_OUT, WORN_OUT, FREE]
    g = dev.initial(worn)
    after = dev.pulse(g, torch.full((6,), 3), worn, torch.Generator())
    assert torch.equal(after[3:5], g[3:5])
    assert (after[[0, 1, 2, 5]] > g[[0, 1, 2, 5]]).all()
