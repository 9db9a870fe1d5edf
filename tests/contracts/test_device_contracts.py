"""One property suite over every pulse response and every preset (STYLE.md, Tests)."""

from __future__ import annotations

import io

import pytest
import torch

from memlearn.devices import (Device, Drift, ExpLtpLtd, Faults, Ideal, LinearStep, PCMResponse, ReadNoise,
                              SoftBounds, get_preset, list_presets)
from memlearn.devices.state import DeviceState

RESPONSES = {
    "Ideal": Ideal(states=50),
    "LinearStep": LinearStep(states=60, asymmetry=0.2, sigma_c2c=0.01, d2d_step=0.1, d2d_bounds=0.05),
    "SoftBounds": SoftBounds(n_pulses=40, asymmetry=-0.1, sigma_c2c=0.01, d2d_step=0.1, d2d_asymmetry=0.05),
    "ExpLtpLtd": ExpLtpLtd(sigma_c2c=0.02, d2d_nonlinearity=0.5, d2d_step=0.1, d2d_bounds=0.05),
    "PCMResponse": PCMResponse(sigma_c2c=0.03, sigma_reset=0.01, reset_level=0.02, d2d_step=0.1),
}
DEVICES = {f"response:{k}": Device(response=v) for k, v in RESPONSES.items()}
DEVICES.update({f"preset:{p.name}": get_preset(p.name) for p in list_presets()})
DEVICES["with_effects"] = Device(response=SoftBounds(sigma_c2c=0.01), read_noise=ReadNoise(relative=0.02),
                                 drift=Drift(nu_mean=0.05, nu_std=0.01), faults=Faults(stuck_at_gmin=0.05,
                                                                                       stuck_at_gmax=0.05))
TARGETS = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
SHAPE = (17, 23)


def _setup(device: Device, target: str = "cpu", dtype=torch.float32, seed: int = 0):
    gen = torch.Generator(device=target).manual_seed(seed)
    state = device.sample(SHAPE, gen, target, dtype)
    span = state.g_max - state.g_min
    frac = torch.rand(SHAPE, generator=gen, device=target, dtype=dtype)
    g = device.initial(state)
    g = torch.where(state.fault == 0, state.g_min + frac * span, g)
    n = torch.randint(-12, 13, SHAPE, generator=gen, device=target, dtype=torch.int32)
    return gen, state, g, n


@pytest.fixture(params=sorted(DEVICES))
def device(request) -> Device:
    return DEVICES[request.param]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shape_dtype_and_device_preserved(device, target, dtype):
    gen, state, g, n = _setup(device, target, dtype)
    for name, t in state.flat().items():
        assert t.shape == SHAPE and t.device.type == target, name
    out = device.pulse(g, n, state, gen)
    read = device.read(out, state, t=10.0, generator=gen)
    for t in (out, read, device.initial(state), device.n_states(state)):
        assert t.shape == SHAPE and t.dtype == dtype and t.device.type == target


def test_zero_pulses_are_a_no_op(device):
    gen, state, g, _ = _setup(device)
    assert torch.equal(device.pulse(g, torch.zeros(SHAPE, dtype=torch.int32), state, gen), g)


def test_bounds_hold(device):
    gen, state, g, _ = _setup(device)
    for _ in range(5):
        n = torch.randint(-200, 201, SHAPE, generator=gen, dtype=torch.int32)
        g = device.pulse(g, n, state, gen)
        assert (g >= state.g_min).all() and (g <= state.g_max).all()


def test_potentiation_monotone_in_expectation(device):
    _, state, g, _ = _setup(device)
    g = state.g_min + 0.1 * (state.g_max - state.g_min)
    previous = g
    for k in (1, 2, 5, 10, 20):
        mean, _ = device.response.moments(g, torch.full(SHAPE, k), state.params)
        mean = torch.minimum(mean, state.g_max)
        assert (mean >= previous).all() and (mean > g).all()
        previous = mean
    top = state.g_min + 0.9 * (state.g_max - state.g_min)
    down, _ = device.response.moments(top, torch.full(SHAPE, -1), state.params)
    assert (down < top).all()


def test_fixed_seed_reproduces(device):
    runs = []
    for _ in range(2):
        gen, state, g, n = _setup(device, seed=7)
        runs.append((device.pulse(g, n, state, gen), device.read(g, state, t=100.0, generator=gen), state.flat()))
    assert torch.equal(runs[0][0], runs[1][0]) and torch.equal(runs[0][1], runs[1][1])
    for key in runs[0][2]:
        assert torch.equal(runs[0][2][key], runs[1][2][key])


def test_inputs_not_mutated(device):
    gen, state, g, n = _setup(device)
    before = (g.clone(), n.clone(), {k: v.clone() for k, v in state.flat().items()})
    device.pulse(g, n, state, gen)
    device.read(g, state, t=50.0, generator=gen)
    device.wear(state, n.abs().to(torch.int64) * 10**9)
    assert torch.equal(g, before[0]) and torch.equal(n, before[1])
    for key, value in state.flat().items():
        assert torch.equal(value, before[2][key]), key


def test_state_saves_and_loads(device):
    gen, state, g, n = _setup(device)
    buffer = io.BytesIO()
    torch.save({"state": state.flat(), "g": g}, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer)
    restored = DeviceState.unflat(loaded["state"])
    a = device.pulse(loaded["g"], n, restored, torch.Generator().manual_seed(3))
    b = device.pulse(g, n, state, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
