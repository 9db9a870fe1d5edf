"""NeuroSim V3.0 conventions: the rounded per-sample update and the one-device synapse mapping,
each against a hand-computed case."""

import pytest
import torch

from memlearn.crossbar.mapping import ReferenceColumnMapping
from memlearn.devices.device import Device
from memlearn.devices.responses import Ideal
from memlearn.nn.tile import AnalogTile, TileConfig
from memlearn.rules.neurosim import NeuroSimPulse, neurosim_counts, truncate_levels
from memlearn.rules.rule import apply_update
from memlearn.rules.update_request import UpdateRequest


def test_truncate_rounds_half_up_in_magnitude_and_clips():
    # L = 4: 0.625 -> 2.5 levels -> 3 (half up), -2.5 -> -3 (half away from zero), 0.48 and
    # -0.48 levels are lost, 0.52 -> 1, 8 levels clip to 4, 0 stays 0.
    dw = torch.tensor([0.625, -0.625, 0.12, -0.12, 0.13, 2.0, 0.0])
    assert truncate_levels(dw, 4, 4).tolist() == [3, -3, 0, 0, 1, 4, 0]


def test_truncate_uses_the_level_count_of_each_direction():
    dw = torch.tensor([0.1, -0.1])
    assert truncate_levels(dw, 100, 50).tolist() == [10, -5]


def test_neurosim_counts_hand_computed():
    # alpha = 0.4, weight range 2, LTP 100 levels, LTD 50 levels.
    # d = (0.3, -0.2), x = (1, 0.25, 0):
    #   row 0: dW = -0.4 * 0.3 * x = (-0.12, -0.03, 0) -> /2 -> (-0.06, -0.015, 0) -> x50 -> (-3, -0.75, 0) -> (-3, -1, 0)
    #   row 1: dW = +0.4 * 0.2 * x = (0.08, 0.02, 0)  -> /2 -> (0.04, 0.01, 0)    -> x100 -> (4, 1, 0)
    x = torch.tensor([[1.0, 0.25, 0.0]])
    d = torch.tensor([[0.3, -0.2]])
    n = neurosim_counts(x, d, 0.4, 2.0, 100, 50)
    assert n.shape == (1, 2, 3)
    assert n[0].tolist() == [[-3, -1, 0], [4, 1, 0]]


def test_neurosim_counts_round_each_sample_not_the_sum():
    # Two samples each asking 0.4 of a level: each is lost; their sum (0.8 level) would not be.
    x = torch.ones(2, 1)
    d = torch.full((2, 1), -0.4 * 2 / 100 / 0.5)  # dW/2 * 100 = 0.4 per sample at lr 0.5
    n = neurosim_counts(x, d, 0.5, 2.0, 100, 100)
    assert n.abs().sum() == 0
    assert neurosim_counts(x.sum(0, keepdim=True), d[:1], 0.5, 2.0, 100, 100).item() == 1


def _tile(levels: int = 100) -> AnalogTile:
    device = Device(response=Ideal(g_min=1e-6, g_max=1e-5, states=levels))
    tile = AnalogTile(3, 2, TileConfig(device=device, mapping=ReferenceColumnMapping(w_max=1.0)), seed=0)
    tile.set_weights_exact(torch.zeros(2, 3))
    return tile


def test_rule_writes_the_rounded_levels_on_a_linear_device():
    # Ideal device with 100 states: one pulse moves w by 2/100 (range 2 over 100 levels).
    # alpha 0.4, d = (0.3, -0.2), x = (1, 0.5, 0): dW/2 * 100 = row 0 (-6, -3, 0), row 1 (4, 2, 0)
    # levels, so w = (-0.12, -0.06, 0) and (0.08, 0.04, 0).
    tile = _tile()
    rule = NeuroSimPulse()
    state = rule.init(tile)
    assert state["levels"] == (100, 100)
    request = UpdateRequest(torch.tensor([[1.0, 0.5, 0.0]]), torch.tensor([[0.3, -0.2]]), 0.4)
    apply_update(rule, request, tile, state, torch.Generator().manual_seed(0))
    expected = torch.tensor([[-0.12, -0.06, 0.0], [0.08, 0.04, 0.0]])
    assert torch.allclose(tile.weights(), expected, atol=1e-5)


def test_rule_writes_a_batch_sample_by_sample():
    # Sample 1 asks +0.3 level (lost), sample 2 -0.7 level (-1): one write each, in order.
    tile = _tile()
    rule = NeuroSimPulse()
    state = rule.init(tile)
    x = torch.tensor([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    d = torch.tensor([[-0.015, 0.0], [0.035, 0.0]])  # lr 0.4: dW/2*100 = 0.3 and -0.7 levels
    pulses, _ = rule.update(UpdateRequest(x, d, 0.4), tile, state, torch.Generator().manual_seed(0))
    assert pulses.n_writes == 2  # one write per sample, in order
    apply_update(rule, UpdateRequest(x, d, 0.4), tile, state, torch.Generator().manual_seed(0))
    # summed first, the batch would ask -0.4 level and write nothing
    assert tile.weights()[0, 0].item() == pytest.approx(-0.02, abs=1e-6)


def test_one_device_mapping_is_neurosims_linear_map():
    # NeuroSim: w = minW + (G - Gmin) / (Gmax - Gmin) (maxW - minW) with [minW, maxW] = [-1, 1];
    # Gmin = 1 uS, Gmax = 10 uS: G = 1 -> -1, 5.5 -> 0, 10 -> 1, 3.25 -> -0.5, 7.75 -> 0.5.
    m = ReferenceColumnMapping(w_max=1.0)
    g = torch.tensor([[1e-6, 5.5e-6, 1e-5, 3.25e-6, 7.75e-6]])
    w = m.normalised(g, 1e-6, 1e-5, 5)
    assert torch.allclose(w, torch.tensor([[-1.0, 0.0, 1.0, -0.5, 0.5]]), atol=1e-6)
    # and back: targets are the inverse, one device per weight (layout (in, out))
    assert torch.allclose(m.targets(w.T, 1e-6, 1e-5), g, rtol=1e-6)
    # the reference (dummy) column sits at the medium conductance (Gmin + Gmax) / 2, as
    # NeuroSim's GetMediumCellReadCurrent: the read current of each output is sum_i v_i (G_i - G_mid)
    block = m.array_block(g, 0, 5, 5, 1e-6, 1e-5)
    assert block[0, -1].item() == pytest.approx(5.5e-6)
    v = torch.tensor([[1.0]])
    currents = v @ block
    assert torch.allclose(m.output_currents(currents, 5), (g - 5.5e-6), atol=1e-12)
