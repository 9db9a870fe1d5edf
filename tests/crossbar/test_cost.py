"""Cost counters: conversions, MVMs, pulses, energy and latency from the per-operation figures."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from memlearn.crossbar.cost import CostConfig, model_cost, reset_cost
from memlearn.nn import AnalogLinear, AnalogTile, TileConfig
from memlearn.periphery import ADC, DAC


def test_counts_forward_and_backward():
    cfg = TileConfig(dac=DAC(bits=6), adc=ADC(bits=7), dac_backward=DAC(bits=8), adc_backward=ADC(bits=9))
    tile = AnalogTile(600, 300, cfg, seed=0)  # 3 row chunks x 3 output blocks
    x = torch.rand(5, 600, requires_grad=True)
    tile(x).sum().backward()
    c = tile.cost
    assert c.n_mvm == 10
    assert c.n_dac == 5 * 600 + 5 * 300
    assert c.n_adc == 5 * 300 * 3 + 5 * 600 * 3
    cc = cfg.cost
    e_dac = 5 * 600 * cc.dac_conversion_energy(6) + 5 * 300 * cc.dac_conversion_energy(8)
    e_adc = 5 * 300 * 3 * cc.adc_conversion_energy(7) + 5 * 600 * 3 * cc.adc_conversion_energy(9)
    assert c.energy_dac == pytest.approx(e_dac)
    assert c.energy_adc == pytest.approx(e_adc)
    assert cc.adc_conversion_energy(9) == pytest.approx(2 * cc.adc_energy)  # Walden scaling from 8 bits
    per_fwd = cc.t_read + 256 / cc.adc_rate  # 256 bit lines per array, one ADC
    per_bwd = cc.t_read + 256 / cc.adc_rate  # 256 word lines per array
    assert c.latency_mvm == pytest.approx(5 * per_fwd + 5 * per_bwd)
    assert c.energy == pytest.approx(c.energy_dac + c.energy_adc + c.energy_array + c.energy_write)


def test_array_read_energy_is_ohmic():
    cost = CostConfig(t_read=1e-7)
    tile = AnalogTile(4, 2, TileConfig(dac=DAC(bits=None, v_read=0.3), cost=cost), seed=0)
    x = torch.tensor([[1.0, 0.5, 0.0, -1.0]])
    with torch.no_grad():
        tile(x)
    v = 0.3 * x[0]
    expected = float((v.square() @ tile.array.g).sum()) * 1e-7
    assert tile.cost.energy_array == pytest.approx(expected, rel=1e-5)


def test_pulse_energy_and_latency():
    cost = CostConfig(write_voltage=2.0, write_pulse_width=1e-6)
    tile = AnalogTile(3, 2, TileConfig(cost=cost), seed=0)
    g0 = tile.array.g.clone()
    n_w = torch.tensor([[1, 0, -2], [0, 3, 0]])
    tile.apply_weight_pulses(n_w)
    n_dev = tile.config.mapping.device_pulses(n_w).abs()
    c = tile.cost
    assert c.n_pulses == int(n_dev.sum()) == 12
    assert c.energy_write == pytest.approx(4.0 * 1e-6 * float((n_dev * g0).sum()), rel=1e-5)
    assert c.latency_write == pytest.approx(3 * 1e-6)  # all devices in parallel: the largest count


def test_model_cost_sums_layers_and_resets():
    model = nn.Sequential(AnalogLinear(8, 4, seed=0), nn.ReLU(), AnalogLinear(4, 3, seed=1))
    with torch.no_grad():
        model(torch.rand(6, 8))
    total = model_cost(model)
    assert total.n_mvm == 12 and total.n_dac == 6 * 8 + 6 * 4
    assert total.energy == pytest.approx(model[0].tile.cost.energy + model[2].tile.cost.energy)
    state = copy.deepcopy(model.state_dict())
    reset_cost(model)
    assert model_cost(model).n_mvm == 0
    model.load_state_dict(state)
    assert model_cost(model).n_mvm == 12


def test_cost_config_validation():
    with pytest.raises(ValueError, match="cost.adc_energy"):
        CostConfig(adc_energy=-1.0)
