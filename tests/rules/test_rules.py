"""Each rule writes only through pulses and does what its paper says."""

from __future__ import annotations

import math

import pytest
import torch

from memlearn.devices.device import Device
from memlearn.devices.responses import Ideal, SoftBounds
from memlearn.nn.tile import AnalogTile, TileConfig
from memlearn.rules import (AnalogSGD, ClipError, DeterministicPulse, Manhattan, MixedPrecision, ScaleLR,
                            StochasticPulse, TikiTaka, UpdateRequest, chain)
from memlearn.rules.rule import apply_update

IDEAL = TileConfig(device=Device(response=Ideal(states=2000)))


def _request(seed=0, batch=5, n_in=6, n_out=4, scale=0.05):
    g = torch.Generator().manual_seed(seed)
    return UpdateRequest(torch.rand(batch, n_in, generator=g) * 2 - 1,
                         torch.randn(batch, n_out, generator=g) * scale, 0.1)


def _tile(cfg=IDEAL, seed=0, n_in=6, n_out=4):
    t = AnalogTile(n_in, n_out, cfg, seed=seed)
    t.set_weights_exact(torch.zeros(n_out, n_in))
    return t


@pytest.mark.parametrize("per_sample", [False, True])
def test_pulsed_sgd_on_an_ideal_device_matches_sgd_in_expectation(per_sample):
    req = _request()
    rule = StochasticPulse(per_sample=per_sample)
    n = 200
    deltas = []
    for k in range(n):
        tile = _tile(seed=k)
        apply_update(rule, req, tile, rule.init(tile), tile.generator)
        deltas.append(tile.weights())
    deltas = torch.stack(deltas)
    expected = -req.lr * req.d.T @ req.x
    se = deltas.std(0) / math.sqrt(n)
    assert torch.all((deltas.mean(0) - expected).abs() <= 5 * se + 1e-4)


def test_manhattan_gives_one_pulse_per_device():
    req = _request()
    tile = _tile()
    apply_update(Manhattan(), req, tile, None, tile.generator)
    dw = -(req.d.T @ req.x)
    expected = torch.sign(dw) * tile.dw_min
    assert torch.allclose(tile.weights(), expected, atol=1e-6)
    assert torch.all(tile.array.n_writes == 1)


def test_mixed_precision_accumulates_sub_threshold_updates():
    tile = _tile()
    rule = MixedPrecision()
    state = rule.init(tile)
    x = torch.zeros(1, 6)
    x[0, 0] = 1.0
    d = torch.zeros(1, 4)
    d[0, 0] = -0.4 * state["dw_min"] / 0.1  # each request asks for 0.4 device steps on weight (0, 0)
    req = UpdateRequest(x, d, 0.1)
    state = apply_update(rule, req, tile, state, tile.generator)
    state = apply_update(rule, req, tile, state, tile.generator)
    assert int(tile.array.n_writes.sum()) == 0
    assert torch.isclose(state["chi"][0, 0], torch.tensor(0.8 * state["dw_min"]), rtol=1e-4)
    state = apply_update(rule, req, tile, state, tile.generator)
    assert torch.isclose(tile.weights()[0, 0], torch.tensor(state["dw_min"]), rtol=1e-4)
    assert torch.isclose(state["chi"][0, 0], torch.tensor(0.2 * state["dw_min"]), rtol=1e-3, atol=1e-7)


def test_mixed_precision_read_back_subtracts_the_real_change():
    cfg = TileConfig(device=Device(response=SoftBounds(n_pulses=10)))
    tile = _tile(cfg)
    rule = MixedPrecision(read_back=True)
    state = rule.init(tile)
    req = _request(scale=1.0)
    before = tile.weights()
    total = -req.lr * req.d.T @ req.x
    state = apply_update(rule, req, tile, state, tile.generator)
    assert torch.allclose(state["chi"] + (tile.weights() - before), total, atol=1e-5)


def test_deterministic_pulse_rounds():
    tile = _tile()
    rule = DeterministicPulse(max_pulses=2)
    state = rule.init(tile)
    x = torch.ones(1, 6)
    d = torch.full((1, 4), -3.4 * state["dw_min"] / 0.1)
    apply_update(rule, UpdateRequest(x, d, 0.1), tile, state, tile.generator)
    assert torch.allclose(tile.weights(), torch.full((4, 6), 2 * state["dw_min"]), rtol=1e-4)


def test_tiki_taka_writes_gradients_into_a_and_transfers_columns_into_c():
    tile = _tile()
    rule = TikiTaka(transfer_every=2, columns_per_transfer=2, transfer_lr=1.0, symmetry_cycles=0)
    state = rule.init(tile)
    req = _request(scale=0.5)
    state = apply_update(rule, req, tile, state, tile.generator)
    assert int(tile.array.n_writes.sum()) == 0  # first update only reaches A
    assert int(state["a"].array.n_writes.sum()) > 0
    state = apply_update(rule, req, tile, state, tile.generator)
    written = tile.array.n_writes.sum(dim=1)[:6] > 0  # rows = inputs; transfer touched columns 0 and 1
    assert written[:2].any() and not written[2:].any()
    assert state["column"] == 2 and state["step"] == 2
    assert len(rule.arrays(state)) == 1


def test_chain_applies_transforms_before_the_rule():
    req = _request(scale=10.0)
    t1, t2 = _tile(), _tile()
    plain = DeterministicPulse()
    apply_update(plain, UpdateRequest(req.x, req.d.clamp(-0.01, 0.01), req.lr * 0.5), t1, plain.init(t1), t1.generator)
    rule = chain(ClipError(max_abs=0.01), ScaleLR(factor=0.5), DeterministicPulse())
    apply_update(rule, req, t2, rule.init(t2), t2.generator)
    assert torch.equal(t1.weights(), t2.weights())
    with pytest.raises(ValueError, match="Rule"):
        chain(ScaleLR(factor=2.0))


def test_chain_orders_request_transforms_the_rule_and_pulse_transforms():
    from memlearn.continual import SparseRewrite

    with pytest.raises(ValueError, match="PulseTransforms may follow"):
        chain(DeterministicPulse(), ScaleLR(factor=2.0))
    with pytest.raises(ValueError, match="exactly one Rule, got 2"):
        chain(DeterministicPulse(), DeterministicPulse())
    with pytest.raises(ValueError, match="request Transforms may precede"):
        chain(SparseRewrite(fraction=0.5), DeterministicPulse())
    # a pulse transform sees the rule's pulses: a closed gate on every weight but one writes only that one
    req, tile = _request(scale=1.0), _tile()
    rule = chain(ScaleLR(factor=2.0), DeterministicPulse(), SparseRewrite(fraction=0.04))  # ceil(0.04 * 24) = 1 weight
    apply_update(rule, req, tile, rule.init(tile), tile.generator)
    assert int((tile.array.n_writes > 0).sum()) == 2  # one weight: the two devices of its pair


@pytest.mark.parametrize("bad", [dict(bl=0), dict(bl=5000)])
def test_invalid_config_names_the_field(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        StochasticPulse(**bad)


def test_analog_sgd_accounting_counts_pulses_and_devices():
    from memlearn.nn.linear import AnalogLinear

    layer = AnalogLinear(6, 4, config=IDEAL, seed=0)
    opt = AnalogSGD(layer, 0.1, Manhattan())
    x = torch.rand(5, 6, generator=torch.Generator().manual_seed(0))
    layer(x).pow(2).sum().backward()
    bias_before = layer.bias.detach().clone()
    opt.step()
    assert not torch.equal(layer.bias.detach(), bias_before)  # digital parameter: plain SGD
    acc = opt.accounting()
    assert acc["n_devices"] == 6 * 8
    assert acc["pulses"] == int(layer.tile.array.n_writes.sum()) > 0
    assert sum(acc["histogram"]["counts"]) == acc["n_devices"]
    assert acc["worn_out"] == 0
    assert opt.accounting()["pulses"] == 0  # per interval
