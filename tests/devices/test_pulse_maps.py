"""Declared n-pulse maps: compiled writes equal torch writes bit for bit (every response and preset,
faults, endurance and multiplicative noise included), the declarations agree with the closed-form
moments, and a response that declares nothing is written by torch."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from memlearn import _numba
from memlearn.crossbar.crossbar import Crossbar
from memlearn.devices import pulse_map as pulse_map_module
from memlearn.devices.device import Device
from memlearn.devices.faults import Faults
from memlearn.devices.presets import get_preset, list_presets
from memlearn.devices.response import SPARSE_FRACTION, PulseResponse
from memlearn.devices.responses import ExpLtpLtd, Ideal, LinearStep, PCMResponse, SoftBounds

ROWS, COLS = 16, 11
FAULTS = Faults(stuck_at_gmin=0.05, stuck_at_gmax=0.05, endurance=40.0, endurance_spread=0.5)
RESPONSES = {
    "ideal": Ideal(states=30),
    "linear_step": LinearStep(states=20, asymmetry=0.3, sigma_c2c=0.02, d2d_step=0.2, d2d_bounds=0.05),
    "soft_bounds": SoftBounds(n_pulses=30, asymmetry=0.2, sigma_c2c=0.02, d2d_step=0.2),
    "soft_bounds_mult": SoftBounds(n_pulses=30, sigma_c2c=0.3, c2c_noise="multiplicative", d2d_step=0.3),
    "exp_ltp_ltd": ExpLtpLtd(n_ltp=30, n_ltd=30, nonlinearity_ltp=3.0, nonlinearity_ltd=-4.0, sigma_c2c=0.01,
                             d2d_nonlinearity=0.5),
    "pcm": PCMResponse(n_set=10, sigma_c2c=0.05, reset_level=0.05, sigma_reset=0.02),
}
DEVICES = {**{k: Device(response=r, faults=FAULTS) for k, r in RESPONSES.items()},
           **{f"preset_{info.name}": get_preset(info.name) for info in list_presets()}}

needs_numba = pytest.mark.skipif(_numba.numba is None, reason="numba is not installed: only the torch path exists")


def _sequence(seed: int = 0, writes: int = 7, high: int = 6):
    g = torch.Generator().manual_seed(seed)
    counts = torch.randint(-high, high + 1, (writes, ROWS * COLS), generator=g, dtype=torch.int32)
    counts[torch.rand(counts.shape, generator=g) < 0.5] = 0
    index, n, lengths = [], [], []
    for c in counts:
        idx = c.nonzero().squeeze(1)
        index.append(idx)
        n.append(c[idx])
        lengths.append(idx.numel())
    return torch.cat(index), torch.cat(n), lengths


def _run(device: Device, compiled: bool, monkeypatch, dense: bool) -> tuple[Crossbar, int]:
    monkeypatch.setattr(_numba, "ENABLED", compiled)
    xbar = Crossbar(ROWS, COLS, device, torch.Generator().manual_seed(5))
    gen = torch.Generator().manual_seed(9)
    total = 0
    if dense:
        for k in range(4):
            n = torch.randint(-8, 9, (ROWS, COLS), generator=torch.Generator().manual_seed(k), dtype=torch.int32)
            if k % 2:  # few devices pulsed: the dense matrix is written by the sparse kernel, zeros skipped
                n[torch.rand(n.shape, generator=torch.Generator().manual_seed(k)) > 0.03] = 0
                assert 0 < int(n.count_nonzero()) < SPARSE_FRACTION * n.numel()
            total += int(xbar.apply_pulses(n, gen))
    for seed in range(3):
        total += int(xbar.apply_pulse_sequence(*_sequence(seed), gen))
    return xbar, total


@needs_numba
@pytest.mark.parametrize("dense", [False, True], ids=["sparse", "dense_then_sparse"])
@pytest.mark.parametrize("name", list(DEVICES))
def test_compiled_writes_equal_torch_writes_bit_for_bit(name, dense, monkeypatch):
    device = DEVICES[name]
    (a, ta), (b, tb) = (_run(device, True, monkeypatch, dense), _run(device, False, monkeypatch, dense))
    assert torch.equal(a.g, b.g), f"{name}: max |diff| {float((a.g - b.g).abs().max())}"
    assert torch.equal(a.n_writes, b.n_writes) and ta == tb
    assert torch.equal(a.state.fault, b.state.fault)
    for counter in ("n_pulses", "n_steps"):
        assert int(getattr(a.pulse_counter, counter)) == int(getattr(b.pulse_counter, counter))
    assert float(a.pulse_counter.pulse_conductance) == pytest.approx(float(b.pulse_counter.pulse_conductance),
                                                                     rel=1e-12)
    # the case is not vacuous: devices moved, and with the test's faults some wore out
    assert not torch.equal(a.g, Crossbar(ROWS, COLS, device, torch.Generator().manual_seed(5)).g)
    if device.faults is FAULTS:
        assert bool((a.state.fault == 3).any())


@pytest.mark.parametrize("name", list(RESPONSES))
def test_declared_maps_have_the_closed_form_moments(name):
    """With ``xi = 0`` the map is the mean of ``moments``; its noise term squared is the variance."""
    response = RESPONSES[name]
    declared = response.pulse_map()
    shape = (4000,)
    params = response.sample(shape, torch.Generator().manual_seed(1), dtype=torch.float64)
    g = params["g_min"] + (params["g_max"] - params["g_min"]) * torch.rand(shape, generator=torch.Generator().manual_seed(2),
                                                                           dtype=torch.float64)
    n = torch.randint(-12, 13, shape, generator=torch.Generator().manual_seed(3))
    p = torch.stack([params[k] for k in declared.params])
    nf = n.to(torch.float64)
    a0, b0 = declared.fn(nf, torch.zeros(shape, dtype=torch.float64), p)
    a1, b1 = declared.fn(nf, torch.ones(shape, dtype=torch.float64), p)
    mean, var = response.moments(g, n, params)
    assert torch.allclose(g + a0 * g + b0, mean, rtol=1e-9, atol=1e-18)
    if declared.noisy:
        assert torch.allclose(((a1 - a0) * g + (b1 - b0)).square(), var, rtol=1e-7, atol=1e-24)
    else:
        assert torch.equal(a1, a0) and torch.equal(b1, b0)


@dataclasses.dataclass(frozen=True, kw_only=True)
class _HalfWay(PulseResponse):
    """A user response that declares no map: each pulse halves the distance to the bound it approaches."""

    g_min: float = 1e-6
    g_max: float = 1e-5

    def sample(self, shape, generator, device=None, dtype=torch.float32):
        return {"g_min": torch.full(tuple(shape), self.g_min, dtype=dtype, device=device),
                "g_max": torch.full(tuple(shape), self.g_max, dtype=dtype, device=device)}

    def moments(self, g, n, params):
        keep = 0.5 ** n.abs().to(g.dtype)
        target = torch.where(n > 0, params["g_max"], params["g_min"])
        return target - (target - g) * keep, torch.zeros_like(g)

    def n_states(self, params):
        return torch.full_like(params["g_min"], 2.0)


def test_an_undeclared_response_falls_back_to_torch(monkeypatch):
    """No declaration: writes never reach the compiler, and the sequence equals dense writes."""
    def refuse(_):
        raise AssertionError("an undeclared response must not be compiled")

    monkeypatch.setattr(pulse_map_module, "compiled_write", refuse)
    import memlearn.devices.write as write_module
    monkeypatch.setattr(write_module, "compiled_write", refuse)
    assert _HalfWay().pulse_map() is None
    device = Device(response=_HalfWay())
    sparse, dense = (Crossbar(ROWS, COLS, device, torch.Generator().manual_seed(0)) for _ in range(2))
    index, n, lengths = _sequence(4)
    sparse.apply_pulse_sequence(index, n, lengths, torch.Generator().manual_seed(0))
    for idx, n_k in zip(index.split(lengths), n.split(lengths)):
        counts = torch.zeros(ROWS * COLS, dtype=torch.int32).index_copy_(0, idx, n_k).view(ROWS, COLS)
        dense.apply_pulses(counts, torch.Generator().manual_seed(0))
    assert torch.allclose(sparse.g, dense.g, rtol=1e-6, atol=0)
    assert torch.equal(sparse.n_writes, dense.n_writes)
    assert not torch.equal(sparse.g, Crossbar(ROWS, COLS, device, torch.Generator().manual_seed(0)).g)


@needs_numba
def test_kernels_are_cached_on_disk():
    kernel = pulse_map_module.compiled_write(SoftBounds().pulse_map())
    assert type(kernel._cache).__name__ == "FunctionCache"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("name", ["ideal", "linear_step", "soft_bounds", "pcm"])
def test_cuda_writes_equal_cpu_writes(name, monkeypatch):
    """The torch path on cuda (noiseless versions, so that no draw differs): the CPU's conductances,
    write counts and wear."""
    response = dataclasses.replace(RESPONSES[name], **({"sigma_c2c": 0.0} if name != "ideal" else {}),
                                   **({"sigma_reset": 0.0} if name == "pcm" else {}))
    device = Device(response=response, faults=FAULTS)
    cpu = Crossbar(ROWS, COLS, device, torch.Generator().manual_seed(5))
    gpu = Crossbar(ROWS, COLS, device, torch.Generator().manual_seed(5)).to("cuda")
    for seed in range(3):
        index, n, lengths = _sequence(seed)
        cpu.apply_pulse_sequence(index, n, lengths, torch.Generator().manual_seed(0))
        gpu.apply_pulse_sequence(index.cuda(), n.cuda(), lengths, torch.Generator("cuda").manual_seed(0))
    assert torch.allclose(gpu.g.cpu(), cpu.g, rtol=1e-6, atol=0)
    assert torch.equal(gpu.n_writes.cpu(), cpu.n_writes) and torch.equal(gpu.state.fault.cpu(), cpu.state.fault)
