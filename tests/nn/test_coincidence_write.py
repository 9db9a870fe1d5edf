"""Per-sample stochastic updates written as line pulse trains: the compiled coincidence write
(one pass per layer) equals the listed-events write bit for bit (every response, mapping, with
faults and endurance), and the torch path (``MEMLEARN_NUMBA=0``) makes the same writes."""

from __future__ import annotations

import pytest
import torch

from memlearn import _numba
from memlearn.crossbar.mapping import DifferentialMapping, ReferenceColumnMapping
from memlearn.devices.device import Device
from memlearn.devices.faults import Faults
from memlearn.devices.presets import get_preset
from memlearn.devices.responses import ExpLtpLtd, LinearStep, PCMResponse, SoftBounds
from memlearn.nn import _write
from memlearn.nn.pulses import Pulses
from memlearn.nn.tile import AnalogTile, TileConfig
from memlearn.periphery.line_trains import line_trains
from memlearn.periphery.pulse_coding import stochastic_events

FAULTS = Faults(stuck_at_gmin=0.05, stuck_at_gmax=0.05, endurance=30.0, endurance_spread=0.5)
DEVICES = {
    "linear_step": Device(response=LinearStep(states=40, asymmetry=0.2, sigma_c2c=0.05, d2d_step=0.2), faults=FAULTS),
    "soft_bounds_mult": Device(response=SoftBounds(n_pulses=40, sigma_c2c=0.3, c2c_noise="multiplicative",
                                                   d2d_step=0.3), faults=FAULTS),
    "exp_ltp_ltd": Device(response=ExpLtpLtd(n_ltp=30, n_ltd=30, nonlinearity_ltp=3.0, nonlinearity_ltd=-4.0,
                                             sigma_c2c=0.01)),
    "pcm": Device(response=PCMResponse(n_set=10, sigma_c2c=0.05, reset_level=0.05, sigma_reset=0.02)),
    "ReRAM_SB": get_preset("ReRAM_SB"),
}
MAPPINGS = {"differential": DifferentialMapping(), "reference": ReferenceColumnMapping(w_max=0.6)}


def _updates(seed: int, n: int = 4, batch: int = 6):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        x = torch.rand(batch, 13, generator=g) * (torch.rand(batch, 13, generator=g) < 0.7)
        d = torch.randn(batch, 7, generator=g) * 0.3
        out.append((x, d))
    return out


def _train(device: Device, mapping, fused: bool, monkeypatch, bl: int = 31) -> AnalogTile:
    tile = AnalogTile(13, 7, TileConfig(device=device, mapping=mapping), seed=3)
    if not fused:
        monkeypatch.setattr(_write, "packed_coincidences", lambda trains: None)
    gen = torch.Generator().manual_seed(11)
    for x, d in _updates(0):
        trains = line_trains(x, d, 0.05, tile.dw_min, bl, gen)
        tile.write(Pulses.trains(trains))
    monkeypatch.undo()
    return tile


def _same(a: AnalogTile, b: AnalogTile) -> None:
    assert torch.equal(a.array.g, b.array.g)
    assert torch.equal(a.array.n_writes, b.array.n_writes)
    assert torch.equal(a.array.state.fault, b.array.state.fault)
    ca, cb = a.cost, b.cost
    assert ca == cb


@pytest.mark.parametrize("mapping", MAPPINGS)
@pytest.mark.parametrize("name", DEVICES)
def test_compiled_coincidence_write_equals_listed_events(name, mapping, monkeypatch):
    fused = _train(DEVICES[name], MAPPINGS[mapping], True, monkeypatch)
    listed = _train(DEVICES[name], MAPPINGS[mapping], False, monkeypatch)
    _same(fused, listed)
    assert int(fused.array.n_writes.sum()) > 0


def test_endurance_wears_devices_the_same_way(monkeypatch):
    device = Device(response=LinearStep(states=40, sigma_c2c=0.05), faults=Faults(endurance=3.0, endurance_spread=0.0))
    fused = _train(device, MAPPINGS["reference"], True, monkeypatch)
    listed = _train(device, MAPPINGS["reference"], False, monkeypatch)
    _same(fused, listed)
    assert int((fused.array.state.fault != 0).sum()) > 0  # some devices did wear out


def test_torch_path_makes_the_same_writes(monkeypatch):
    """``MEMLEARN_NUMBA=0``: trains are written as their events, identical to the compiled run."""
    device, mapping = DEVICES["soft_bounds_mult"], MAPPINGS["differential"]
    compiled = _train(device, mapping, True, monkeypatch)
    monkeypatch.setattr(_numba, "ENABLED", False)
    torch_run = _train(device, mapping, True, monkeypatch)
    torch.testing.assert_close(compiled.array.g, torch_run.array.g, rtol=0, atol=0)
    assert torch.equal(compiled.array.n_writes, torch_run.array.n_writes)


def test_trains_as_events_are_the_stochastic_events():
    x, d = _updates(5, n=1)[0]
    trains = line_trains(x, d, 0.05, 1e-3, 31, torch.Generator().manual_seed(2))
    events = Pulses.trains(trains).as_events()
    w, n, lengths = stochastic_events(x, d, 0.05, 1e-3, 31, torch.Generator().manual_seed(2), per_sample=True)
    assert torch.equal(events.index, w) and torch.equal(events.counts, n) and list(events.lengths) == lengths
    assert Pulses.trains(trains).n_writes == x.shape[0]


def test_trains_of_another_shape_are_refused():
    tile = AnalogTile(13, 7, TileConfig(device=DEVICES["linear_step"]), seed=0)
    trains = line_trains(torch.rand(2, 5), torch.rand(2, 7), 0.05, 1e-3, 31, torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="pulse trains"):
        tile.write(Pulses.trains(trains))
