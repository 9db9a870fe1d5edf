"""The tile's read path against a plain reference of the read's arithmetic, bit for bit: input
scale, DAC levels, per-array partial outputs, output noise (the same draws), ADC, bound management;
read statistics kept between writes; cost counters held as views; NaN found by the input scale."""

from __future__ import annotations

import copy
import dataclasses

import pytest
import torch

from memlearn.crossbar.cost import CostConfig, MvmCounter
from memlearn.crossbar.mapping import DifferentialMapping, ReferenceColumnMapping
from memlearn.nn import AnalogLinear, AnalogTile, TileConfig
from memlearn.periphery import ADC, DAC, BoundManagement

AIHWKIT_LIKE = TileConfig(mapping=ReferenceColumnMapping(w_max=0.6), dac=DAC(bits=7), adc=ADC(bits=9, output_range=12),
                          dac_backward=DAC(bits=7), adc_backward=ADC(bits=9, output_range=12.0), output_noise=0.06,
                          output_noise_backward=0.06, noise_management="abs_max", bound_management=BoundManagement(),
                          array_size=(1024, 1024))
CONFIGS = {
    "aihwkit_like": AIHWKIT_LIKE,
    "saturating_tiled": TileConfig(dac=DAC(bits=5), adc=ADC(bits=6, output_range=1.0), noise_management="abs_max",
                                   output_noise=0.05, bound_management=BoundManagement(max_repeats=3, shrink=3.0),
                                   array_size=(16, 10)),
    "fixed_range": TileConfig(dac=DAC(bits=6, input_range=2.0), adc=ADC(bits=8, output_range=2.0), output_noise=0.1,
                              bound_management=BoundManagement(), mapping=DifferentialMapping(scale="column")),
}


def _reference_read(tile: AnalogTile, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The forward read written out step by step (the arithmetic of ``memlearn.periphery.mvm``)."""
    c, part = tile.config, tile.partition
    w = part.pad_weights(c.mapping.normalised(tile.array.g, tile._g_min, tile._g_max, tile.out_features))
    dac, adc, bm = c.dac, c.adc, c.bound_management
    half = (2**dac.bits - 2) / 2.0

    def one_pass(xs, alpha):
        k = torch.round(torch.clamp(xs * (half / alpha), -half, half))
        p = part.forward_partials(k * ((1.0 / adc.step) * (1.0 / half)), w)
        p.add_(torch.randn(p.shape, generator=generator), alpha=c.output_noise / adc.step)
        top = adc.output_range / adc.step
        saturated = (p.abs() >= top).any(dim=2).any(dim=0)
        return p.clamp(-top, top).round().sum(dim=0), saturated

    if c.noise_management == "abs_max":
        alpha = x.abs().amax(dim=1, keepdim=True)
        alpha = torch.where(alpha > 0, alpha, torch.ones_like(alpha))
    else:
        alpha = torch.full((x.shape[0], 1), dac.input_range)
    y, saturated = one_pass(x, alpha)
    for _ in range(bm.max_repeats if bm else 0):
        idx = saturated.nonzero().squeeze(1)
        if idx.numel() == 0:
            break
        alpha = alpha.index_copy(0, idx, alpha[idx] * bm.shrink)
        y_sub, sat_sub = one_pass(x[idx], alpha[idx])
        y = y.index_copy(0, idx, y_sub)
        saturated = torch.zeros_like(saturated).index_copy(0, idx, sat_sub)
    return y * (alpha * adc.step) * tile.w_scale


def _reference_backward_read(tile: AnalogTile, d: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The transposed read written out (no bound management backward)."""
    c, part = tile.config, tile.partition
    w = part.pad_weights(c.mapping.normalised(tile.array.g, tile._g_min, tile._g_max, tile.out_features))
    dac, adc = c.dac_backward, c.adc_backward
    half = (2**dac.bits - 2) / 2.0
    d = d * tile.w_scale
    alpha = d.abs().amax(dim=1, keepdim=True)
    alpha = torch.where(alpha > 0, alpha, torch.ones_like(alpha))
    k = torch.round(torch.clamp(d * (half / alpha), -half, half))
    p = part.backward_partials(k * ((1.0 / adc.step) * (1.0 / half)), w)
    p.add_(torch.randn(p.shape, generator=generator), alpha=c.output_noise_backward / adc.step)
    top = adc.output_range / adc.step
    return p.clamp(-top, top).round().sum(dim=0) * (alpha * adc.step)


def _layer(config: TileConfig, n_in: int = 40, n_out: int = 24, scale: float = 0.5) -> AnalogLinear:
    layer = AnalogLinear(n_in, n_out, config=config, seed=3)
    w = (torch.rand(n_out, n_in, generator=torch.Generator().manual_seed(7)) * 2 - 1) * scale
    layer.tile.set_weights_exact(w)
    return layer


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_forward_read_equals_reference_bit_for_bit(name):
    layer = _layer(CONFIGS[name])
    tile = layer.tile
    x = torch.randn(7, 40, generator=torch.Generator().manual_seed(1)) * 2
    x[2] = 0.0  # an all-zero vector: alpha = 1
    generator = torch.Generator().manual_seed(5)
    tile.generator.manual_seed(5)
    for _ in range(3):  # unchanged weights (cached statistics), then after a write
        with torch.no_grad():
            assert torch.equal(tile(x), _reference_read(tile, x, generator))
        tile.array.g.mul_(1.0005)
    assert torch.equal(tile.generator.get_state(), generator.get_state())  # the same draws, no more


@pytest.mark.parametrize("array_size", [(1024, 1024), (16, 10)])
def test_backward_read_equals_reference_bit_for_bit(array_size):
    layer = _layer(dataclasses.replace(AIHWKIT_LIKE, array_size=array_size))
    tile = layer.tile
    x = torch.randn(6, 40, generator=torch.Generator().manual_seed(1), requires_grad=True)
    d = torch.randn(6, 24, generator=torch.Generator().manual_seed(2)) * 0.1
    d[3] = 0.0
    generator = torch.Generator().manual_seed(5)
    tile.generator.manual_seed(5)
    layer(x).backward(d)
    _reference_read(tile, x.detach(), generator)  # the forward's draws
    assert torch.equal(x.grad, _reference_backward_read(tile, d, generator))
    assert torch.equal(tile.generator.get_state(), generator.get_state())


def test_bound_management_repeats_are_counted():
    layer = _layer(CONFIGS["saturating_tiled"], scale=1.0)
    x = torch.rand(9, 40, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        layer(x)
    n = int(layer.tile.counter.n_mvm)
    assert n > 9  # some vectors saturated and were repeated
    assert int(layer.tile.counter.n_adc) == n * 24 * layer.tile.partition.n_row_chunks


def test_statistics_follow_writes_and_keep_the_padding_zero():
    tile = _layer(CONFIGS["saturating_tiled"]).tile  # 40 x 24 on 16 x 10 arrays: padded
    mapping, part = tile.config.mapping, tile.partition
    for _ in range(2):
        stats = tile._read_statistics()
        assert stats.mean.shape == (part.padded_in, part.padded_out)
        expected = part.pad_weights(mapping.normalised(tile.array.g, tile._g_min, tile._g_max, 24))
        assert torch.equal(stats.mean, expected)
        assert torch.equal(stats.row_conductance, tile.array.g.sum(1))
        assert torch.equal(stats.col_conductance, mapping.column_sums(tile.array.g, 24))
        tile.array.g.mul_(0.999)
    assert tile._read_statistics() is tile._read_statistics()


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_abs_max_read_rejects_non_finite_inputs_before_drawing(value):
    layer = _layer(AIHWKIT_LIKE)
    layer.tile.name = "fc1"
    state = layer.tile.generator.get_state()
    x = torch.ones(3, 40)
    x[1, 5] = value
    with pytest.raises(ValueError, match="fc1: .*NaN or inf"):
        layer(x)
    assert torch.equal(layer.tile.generator.get_state(), state)
    assert int(layer.tile.counter.n_mvm) == 0


def test_counter_views_survive_to_copy_and_state_dict():
    counter = MvmCounter(CostConfig())

    def record(c, n):
        c.record(n_vectors=n, n_inputs=4, n_outputs=3, n_arrays_per_output=2, dac_bits=7, adc_bits=9,
                 columns_per_array=3, power=torch.tensor(2.5e-5))

    reference = MvmCounter(CostConfig())
    for c in (counter, reference):
        record(c, 5)
    counter.n_mvm = counter.n_mvm.clone()  # replaced buffers: the counter re-packs them
    counter.energy_array = counter.energy_array.clone()
    record(counter, 2)
    record(reference, 2)
    assert list(counter.state_dict()) == ["n_mvm", "n_dac", "n_adc", "energy_dac", "energy_adc", "energy_array",
                                          "latency_mvm"]
    assert counter.report() == reference.report()
    restored = MvmCounter(CostConfig())
    restored.load_state_dict(copy.deepcopy(counter.state_dict()))
    record(restored, 1)
    record(reference, 1)
    assert restored.report() == reference.report()
    assert int(restored.n_mvm) == 8 and int(restored.n_adc) == 8 * 3 * 2
    restored.reset()
    assert restored.report().n_mvm == 0 and restored.report().energy == 0.0


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_compiled_adc_sums_the_same_codes_as_torch(dtype):
    """The compiled ADC pass (clamp, round half to even, sum over arrays) against the torch path,
    bit for bit, on partials with ties, saturation, inf and NaN."""
    from memlearn import _numba
    from memlearn.periphery._adc_kernel import codes_sum

    if not _numba.usable(torch.zeros(1)):
        pytest.skip("numba is off (MEMLEARN_NUMBA=0 or not installed): only the torch path exists")
    g = torch.Generator().manual_seed(3)
    p = (torch.randn(5, 33, 47, generator=g, dtype=dtype) * 60).round() / 2  # many exact .5 ties
    p[0, 0, :4] = torch.tensor([float("nan"), float("inf"), -float("inf"), 1e30], dtype=dtype)
    adc = ADC(bits=8, output_range=12.0)
    top = adc.output_range / adc.step
    expected = adc.convert_codes_sum_(p.clone())
    got = codes_sum(p, top)
    assert got is not None and got.dtype == dtype
    assert torch.equal(got.isnan(), expected.isnan())
    assert torch.equal(got.nan_to_num(), expected.nan_to_num())
    assert codes_sum(p[:, :, :1].expand(5, 33, 3), top) is None  # not contiguous: torch path
    assert codes_sum(p.float(), 2.0 ** 24) is None  # sums that could round: torch path


def test_tiled_read_is_the_same_with_the_compiled_adc_off(monkeypatch):
    from memlearn import _numba

    layer = _layer(CONFIGS["saturating_tiled"])
    x = torch.randn(9, 40, generator=torch.Generator().manual_seed(1))
    outputs = []
    for enabled in (True, False):
        monkeypatch.setattr(_numba, "ENABLED", enabled and _numba.ENABLED)
        layer.tile.generator.manual_seed(7)
        with torch.no_grad():
            outputs.append(layer(x))
    assert torch.equal(outputs[0], outputs[1])
