"""Sparse sequential writes (``Crossbar.apply_pulse_sequence``) are the same physics as dense writes,
on both write paths (compiled loop and torch)."""

from __future__ import annotations

import pytest
import torch

from memlearn.crossbar.crossbar import Crossbar
from memlearn.devices.device import Device
from memlearn.devices.faults import Faults
from memlearn.devices.responses import ExpLtpLtd, LinearStep, PCMResponse, SoftBounds

ROWS, COLS = 12, 9


@pytest.fixture(autouse=True, params=["compiled", "torch"])
def write_path(request, monkeypatch):
    """Every check runs on both write paths: the compiled in-order loop and the torch rounds."""
    from memlearn import _numba

    if request.param == "compiled" and _numba.numba is None:
        pytest.skip("numba is not installed: only the torch path exists")
    monkeypatch.setattr(_numba, "ENABLED", request.param == "compiled")
    return request.param


class _OpaqueSoftBounds(SoftBounds):
    """A response that does not declare itself affine: the generic write path."""

    affine = False


def _events(counts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """(writes, rows, cols) dense counts -> flat events of the nonzero entries, write by write."""
    index, n, lengths = [], [], []
    for c in counts:
        idx = c.reshape(-1).nonzero().squeeze(1)
        index.append(idx)
        n.append(c.reshape(-1)[idx])
        lengths.append(idx.numel())
    return torch.cat(index), torch.cat(n), lengths


def _pair(device: Device, seed: int = 3) -> tuple[Crossbar, Crossbar]:
    return (Crossbar(ROWS, COLS, device, torch.Generator().manual_seed(seed)),
            Crossbar(ROWS, COLS, device, torch.Generator().manual_seed(seed)))


def _counts(writes: int, high: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    counts = torch.randint(-high, high + 1, (writes, ROWS, COLS), generator=g, dtype=torch.int32)
    counts[torch.rand(counts.shape, generator=g) < 0.4] = 0
    return counts


@pytest.mark.parametrize("response", [
    SoftBounds(n_pulses=20, asymmetry=0.4),
    LinearStep(states=8, asymmetry=0.3),  # few states: the bounds clip mid-sequence
    ExpLtpLtd(n_ltp=30, n_ltd=30, nonlinearity_ltp=3.0, nonlinearity_ltd=-4.0),
    PCMResponse(),
    _OpaqueSoftBounds(n_pulses=20, asymmetry=0.4),
])
def test_noise_free_sequence_equals_dense_writes(response):
    dense, sparse = _pair(Device(response=response))
    counts = _counts(6, 5)
    for c in counts:
        dense.apply_pulses(c, torch.Generator().manual_seed(0))
    index, n, lengths = _events(counts)
    total = sparse.apply_pulse_sequence(index, n, lengths, torch.Generator().manual_seed(0))
    assert torch.allclose(sparse.g, dense.g, rtol=1e-5, atol=1e-12)
    assert int(total) == int(counts.abs().sum())
    assert torch.equal(sparse.n_writes, dense.n_writes)
    for name in ("n_pulses", "n_steps"):
        assert int(getattr(sparse.pulse_counter, name)) == int(getattr(dense.pulse_counter, name))
    assert float(sparse.pulse_counter.pulse_conductance) == pytest.approx(
        float(dense.pulse_counter.pulse_conductance), rel=1e-5)


@pytest.mark.parametrize("response", [SoftBounds(n_pulses=20), _OpaqueSoftBounds(n_pulses=20)])
def test_stuck_devices_do_not_move(response):
    device = Device(response=response, faults=Faults(stuck_at_gmin=0.2, stuck_at_gmax=0.2))
    dense, sparse = _pair(device)
    counts = _counts(4, 3)
    for c in counts:
        dense.apply_pulses(c, torch.Generator().manual_seed(0))
    sparse.apply_pulse_sequence(*_events(counts), torch.Generator().manual_seed(0))
    stuck = sparse.state.fault != 0
    assert bool(stuck.any())
    assert torch.equal(sparse.g[stuck], Crossbar(ROWS, COLS, device, torch.Generator().manual_seed(3)).g[stuck])
    assert torch.allclose(sparse.g, dense.g, rtol=1e-5, atol=1e-12)


@pytest.mark.parametrize("response", [SoftBounds(n_pulses=50, asymmetry=0.2, sigma_c2c=0.01),
                                      SoftBounds(n_pulses=50, asymmetry=0.2, sigma_c2c=0.3, c2c_noise="multiplicative")])
def test_noisy_sequence_has_the_moments_of_dense_writes(response):
    """Cycle-to-cycle noise: same mean and variance over 20k devices as the dense writes (5 sigma)."""
    device = Device(response=response)
    rows, cols = 100, 200
    dense = Crossbar(rows, cols, device, torch.Generator().manual_seed(1))
    sparse = Crossbar(rows, cols, device, torch.Generator().manual_seed(1))
    dense.g.fill_(5e-6)
    sparse.g.fill_(5e-6)
    pattern = [4, -3, 2, 5, -6]  # every device: up, down, up, up, down, in this order
    for k in pattern:
        dense.apply_pulses(torch.full((rows, cols), k, dtype=torch.int32), torch.Generator().manual_seed(10 + k))
    index = torch.arange(rows * cols).repeat(len(pattern))
    n = torch.tensor(pattern, dtype=torch.int32).repeat_interleave(rows * cols)
    sparse.apply_pulse_sequence(index, n, [rows * cols] * len(pattern), torch.Generator().manual_seed(7))
    m = rows * cols
    a, b = dense.g.double().reshape(-1), sparse.g.double().reshape(-1)
    se = (a.var() / m + b.var() / m).sqrt()
    assert abs(float(a.mean() - b.mean())) < 5 * float(se)
    assert float(b.var() / a.var()) == pytest.approx(1.0, abs=5 * (2 / m) ** 0.5 * 1.5)


def test_bad_sequences_are_rejected():
    xbar = Crossbar(ROWS, COLS, Device(response=SoftBounds()), torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="add up"):
        xbar.apply_pulse_sequence(torch.tensor([0, 1]), torch.tensor([1, 1], dtype=torch.int32), [3], gen)
    with pytest.raises(TypeError, match="integer"):
        xbar.apply_pulse_sequence(torch.tensor([0]), torch.tensor([1.0]), [1], gen)


def test_per_sample_writes_keep_both_trains_of_an_up_down_pair():
    """aihwkit's per-sample semantics: +2 then -2 is four pulses, not a net zero."""
    from memlearn.nn.tile import AnalogTile, TileConfig

    tile = AnalogTile(3, 2, TileConfig(device=Device(response=SoftBounds(n_pulses=20, asymmetry=0.5))), seed=0)
    before = tile.weights().clone()
    w = torch.tensor([4, 4])
    tile.apply_weight_pulse_events(w, torch.tensor([2, -2], dtype=torch.int32), [1, 1])
    assert int(tile.array.n_writes.sum()) == 8  # two devices of the pair, four pulses each
    assert not torch.allclose(tile.weights(), before)  # asymmetric device: up-down does not cancel


def test_a_closed_gate_blocks_sparse_writes():
    from memlearn.continual.pulse_gate import gated
    from memlearn.nn.pulses import Pulses
    from memlearn.nn.tile import AnalogTile, TileConfig

    tile = AnalogTile(3, 2, TileConfig(device=Device(response=SoftBounds(n_pulses=20))), seed=0)
    gate = torch.ones(2, 3)
    gate[1, 1] = 0.0  # weight index 4 is protected
    tile.write(gated(Pulses.events(torch.tensor([4, 0]), torch.tensor([3, 3], dtype=torch.int32), [2]), gate,
                     tile.generator))
    assert int(tile.array.n_writes.sum()) == 6  # only weight 0's pair moved


@pytest.mark.parametrize("response", [SoftBounds(n_pulses=30, asymmetry=0.3, sigma_c2c=0.01),
                                      ExpLtpLtd(n_ltp=40, n_ltd=50, nonlinearity_ltp=2.0, nonlinearity_ltd=-3.0),
                                      LinearStep(states=50, asymmetry=-0.2, sigma_c2c=0.01, d2d_step=0.1,
                                                 d2d_asymmetry=0.05)])
def test_closed_form_affine_maps_equal_the_generic_two_point_form(response):
    from memlearn.devices.response import PulseResponse

    params = response.sample((500,), torch.Generator().manual_seed(0))
    n = torch.randint(-20, 21, (500,), generator=torch.Generator().manual_seed(1), dtype=torch.int32)
    fast = response.affine_moments(n, params)
    generic = PulseResponse.affine_moments(response, n, params)
    scale = float(params["g_max"].max())
    for f, g, unit in zip(fast, generic, (1.0, scale, scale**2)):
        assert torch.allclose(f, g, rtol=1e-4, atol=1e-6 * unit)


def test_bad_weight_events_name_the_problem():
    from memlearn.nn.tile import AnalogTile, TileConfig

    tile = AnalogTile(3, 2, TileConfig(device=Device(response=SoftBounds())), seed=0)
    one = torch.tensor([1], dtype=torch.int32)
    with pytest.raises(TypeError, match="weight indices"):
        tile.apply_weight_pulse_events(torch.tensor([1.0]), one, [1])
    with pytest.raises(ValueError, match=r"weight indices must lie in \[0, 6\)"):
        tile.apply_weight_pulse_events(torch.tensor([6]), one, [1])
    with pytest.raises(TypeError, match="integer"):
        tile.apply_weight_pulse_events(torch.tensor([1]), torch.tensor([1.0]), [1])
    with pytest.raises(ValueError, match="add up"):
        tile.apply_weight_pulse_events(torch.tensor([1]), one, [2])


def test_empty_sequences_and_batches_write_nothing():
    from memlearn.periphery.pulse_coding import stochastic_counts

    xbar = Crossbar(ROWS, COLS, Device(response=SoftBounds()), torch.Generator().manual_seed(0))
    before = xbar.g.clone()
    empty, none = torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.int32)
    for lengths in ([], [0, 0]):
        assert int(xbar.apply_pulse_sequence(empty, none, lengths, torch.Generator())) == 0
    assert torch.equal(xbar.g, before) and int(xbar.pulse_counter.n_steps) == 0
    gen = torch.Generator().manual_seed(0)
    assert stochastic_counts(torch.zeros(0, 5), torch.zeros(0, 3), 0.1, 0.01, 31, gen, per_sample=True).shape == (0, 3, 5)
    assert not stochastic_counts(torch.zeros(0, 5), torch.zeros(0, 3), 0.1, 0.01, 31, gen).any()


def test_compiled_and_torch_writes_agree(write_path):
    """Same maps, same random draws: the two paths give the same conductances, pulses and energy."""
    from memlearn import _numba

    if write_path != "compiled":
        pytest.skip("compares the compiled path against the torch path once")
    device = Device(response=SoftBounds(n_pulses=40, sigma_c2c=0.02, d2d_step=0.2), faults=Faults(stuck_at_gmin=0.1, stuck_at_gmax=0.05))
    index, n, lengths = _events(_counts(6, 3))
    bars = []
    for enabled in (True, False):
        _numba.ENABLED = enabled
        xbar = Crossbar(ROWS, COLS, device, torch.Generator().manual_seed(3))
        total = xbar.apply_pulse_sequence(index, n, lengths, torch.Generator().manual_seed(8))
        bars.append((xbar, int(total)))
    (a, ta), (b, tb) = bars
    assert ta == tb and torch.equal(a.n_writes, b.n_writes)
    assert torch.allclose(a.g, b.g, rtol=1e-6, atol=0)
    assert int(a.pulse_counter.n_steps) == int(b.pulse_counter.n_steps)
    assert float(a.pulse_counter.pulse_conductance) == pytest.approx(float(b.pulse_counter.pulse_conductance), rel=1e-6)


@pytest.mark.parametrize("mapping", ["differential", "reference"])
def test_weight_events_equal_dense_weight_pulses(mapping):
    """The tile's tabulated device events move the same devices by the same pulses as the
    mapping's dense ``device_pulses`` (both mappings, signs included)."""
    from memlearn.crossbar.mapping import DifferentialMapping, ReferenceColumnMapping
    from memlearn.nn.tile import AnalogTile, TileConfig

    m = DifferentialMapping() if mapping == "differential" else ReferenceColumnMapping()
    config = TileConfig(device=Device(response=LinearStep(states=40, asymmetry=0.2)), mapping=m)
    sparse, dense = AnalogTile(7, 5, config, seed=1), AnalogTile(7, 5, config, seed=1)
    counts = torch.randint(-3, 4, (5, 7), generator=torch.Generator().manual_seed(2), dtype=torch.int32)
    w = counts.reshape(-1).nonzero().squeeze(1)
    sparse.apply_weight_pulse_events(w, counts.reshape(-1)[w], [w.numel()])
    dense.apply_weight_pulses(counts)
    assert torch.equal(sparse.array.n_writes, dense.array.n_writes)
    assert torch.allclose(sparse.array.g, dense.array.g, rtol=1e-6, atol=0)
