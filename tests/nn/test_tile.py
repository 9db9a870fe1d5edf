"""AnalogTile: ideal == float matmul; each non-ideality on its own behaves as specified."""

from __future__ import annotations

import math

import pytest
import torch

from memlearn.crossbar.mapping import DifferentialMapping, ReferenceColumnMapping
from memlearn.devices.device import Device
from memlearn.devices.drift import Drift
from memlearn.devices.read_noise import ReadNoise
from memlearn.devices.responses.ideal import Ideal
from memlearn.nn import AnalogTile, TileConfig
from memlearn.periphery import ADC, DAC, BoundManagement

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _tile(n_in=20, n_out=12, config=None, seed=0, device="cpu", scale=0.5):
    tile = AnalogTile(n_in, n_out, config, seed=seed, device=device)
    w = (torch.rand(n_out, n_in, generator=torch.Generator().manual_seed(seed + 7)) * 2 - 1) * scale
    tile.set_weights_exact(w.to(device))
    return tile, w.to(device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mapping", [DifferentialMapping(), ReferenceColumnMapping(), DifferentialMapping(scale="column")])
def test_ideal_tile_equals_float_matmul(device, mapping):
    tile, w = _tile(config=TileConfig(mapping=mapping), device=device)
    torch.testing.assert_close(tile.weights(), w, rtol=1e-5, atol=1e-6)
    x = torch.randn(3, 5, 20, device=device, requires_grad=True)
    y = tile(x)
    torch.testing.assert_close(y, x @ w.T, rtol=1e-5, atol=1e-5)
    g = torch.randn(3, 5, 12, device=device)
    y.backward(g)
    torch.testing.assert_close(x.grad, g @ w, rtol=1e-5, atol=1e-5)
    px, pd = tile.pending
    assert px.shape == (3, 5, 20) and torch.equal(pd, g)


def test_column_scale_uses_full_conductance_range():
    tile, w = _tile(config=TileConfig(mapping=DifferentialMapping(scale="column")), scale=0.1)
    torch.testing.assert_close(tile.w_scale, w.abs().amax(dim=1))
    g = tile.array.g
    span = (g[:, :12] - g[:, 12:]).abs().amax(dim=0) / tile.g_range
    torch.testing.assert_close(span, torch.ones(12), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("sampling", ["gaussian", "per_vector", "moment_matched"])
def test_read_noise_redrawn_per_call_with_predicted_variance(sampling):
    noise = ReadNoise(relative=0.05, absolute=0.01)
    cfg = TileConfig(device=Device(response=Ideal(), read_noise=noise), read_noise_sampling=sampling)
    tile, w = _tile(n_in=64, n_out=8, config=cfg)
    x = torch.rand(1, 64, generator=torch.Generator().manual_seed(1))
    n = 500
    with torch.no_grad():
        ys = torch.cat([tile(x) for _ in range(n)])
    g, state = tile.array.g, tile.array.state
    s = noise.std(g, state.g_max)
    var_w = (s[:, :8] ** 2 + s[:, 8:] ** 2) / tile.g_range**2  # (in, out), w_max = 1
    predicted = (x.square() @ var_w).squeeze(0)
    measured = ys.var(dim=0)
    # sample variance of n Gaussian draws: relative std sqrt(2 / (n - 1)) ~ 3.2%; allow 5 sigma
    assert torch.allclose(measured, predicted, rtol=5 * math.sqrt(2 / (n - 1)))
    torch.testing.assert_close(ys.mean(dim=0), (x @ w.T).squeeze(0), rtol=0, atol=5 * float(predicted.max().sqrt()) / math.sqrt(n))
    assert not torch.equal(ys[0], ys[1])


def _per_device_draws(tile, x, n, generator):
    """Reference: ``n`` reads of ``x`` (batch, in), every vector with its own explicit draw of every
    device's read noise (both devices of each pair), through the mapping; (n, batch, out)."""
    g, state = tile.array.g, tile.array.state
    noise = tile.config.device.read_noise
    mapping = tile.config.mapping
    out = []
    for _ in range(n):
        for xb in x:
            g_read = noise.apply(g, state.g_max, generator)
            w = mapping.normalised(g_read, tile._g_min, tile._g_max, tile.out_features) * tile.w_scale
            out.append(xb @ w)
    return torch.stack(out).view(n, x.shape[0], -1)


@pytest.mark.parametrize("device", DEVICES)
def test_per_vector_read_noise_matches_explicit_per_device_draws(device):
    """The output-domain draw has the per-device model's statistics: mean, variance per output, and
    independence between the vectors of a batch (which one draw per call does not give); two row
    chunks, so the bfloat16 variance matmul runs per physical array."""
    noise = ReadNoise(relative=0.05, absolute=0.01)
    cfg = TileConfig(device=Device(response=Ideal(), read_noise=noise), read_noise_sampling="per_vector",
                     array_size=(16, 64))
    tile, w = _tile(n_in=32, n_out=6, config=cfg, device=device)
    gen = torch.Generator().manual_seed(3)
    x = (torch.rand(2, 32, generator=gen) * 2 - 1).to(device)
    x = torch.cat([x, x[:1]])  # vectors 0 and 2 are equal: their noise must still be independent
    n = 600
    with torch.no_grad():
        ys = torch.stack([tile(x) for _ in range(n)]).cpu()  # (n, 3, out)
        ref = _per_device_draws(tile, x, n, torch.Generator(device=device).manual_seed(4)).cpu()
    tol = 5 * math.sqrt(2 / (n - 1))  # 5 sigma of a sample variance
    var, var_ref = ys.var(dim=0), ref.var(dim=0)
    assert torch.allclose(var, var_ref, rtol=2 * tol), (var / var_ref)
    sd = var_ref.sqrt()
    torch.testing.assert_close(ys.mean(dim=0), (x @ w.T).cpu(), rtol=0, atol=float(5 * sd.max() / math.sqrt(n)))
    # vectors 0 and 2 (same input): correlation of their noise ~ 0 (one draw per call gives 1)
    e0, e2 = ys[:, 0] - ys[:, 0].mean(0), ys[:, 2] - ys[:, 2].mean(0)
    corr = (e0 * e2).mean(0) / (e0.std(0) * e2.std(0))
    assert corr.abs().max() < 5 / math.sqrt(n), corr
    # per-output noise is Gaussian like the reference: excess kurtosis ~ 0
    z = (ys - ys.mean(0)) / ys.std(0)
    assert float(z.pow(4).mean(0).sub(3).abs().max()) < 5 * math.sqrt(24 / n)


def test_per_vector_read_noise_backward_and_cache():
    """The backward read draws its own per-vector noise with the transposed variance; the cached
    bfloat16 variance is rebuilt when the array is written."""
    noise = ReadNoise(relative=0.05, absolute=0.0)
    cfg = TileConfig(device=Device(response=Ideal(), read_noise=noise), read_noise_sampling="per_vector")
    tile, w = _tile(n_in=16, n_out=10, config=cfg)
    d = torch.rand(1, 10, generator=torch.Generator().manual_seed(5))
    n = 400
    with torch.no_grad():
        gs = torch.cat([tile.backward_circuit(d) for _ in range(n)])
    g, state = tile.array.g, tile.array.state
    s = noise.std(g, state.g_max)
    var_w = (s[:, :10] ** 2 + s[:, 10:] ** 2) / tile.g_range**2  # (in, out)
    predicted = d.square() @ var_w.T
    assert torch.allclose(gs.var(dim=0), predicted.squeeze(0), rtol=5 * math.sqrt(2 / (n - 1)))
    var_before = tile._read_statistics().var
    tile.set_weights_exact(-w)
    assert tile._read_statistics().var is not var_before
    tile.set_read_time(10.0)
    assert tile._read_statistics() is tile._read_statistics()


def test_per_vector_without_noise_is_exact():
    cfg = TileConfig(read_noise_sampling="per_vector")
    tile, w = _tile(config=cfg)
    x = torch.randn(4, 20, requires_grad=True)
    y = tile(x)
    torch.testing.assert_close(y, x @ w.T, rtol=1e-5, atol=1e-5)
    y.backward(torch.ones_like(y))
    torch.testing.assert_close(x.grad, torch.ones(4, 12) @ w, rtol=1e-5, atol=1e-5)


def test_drift_at_read_time():
    drift = Drift(nu_mean=0.05, nu_std=0.0, t0=1.0)
    tile, w = _tile(config=TileConfig(device=Device(response=Ideal(), drift=drift), mapping=ReferenceColumnMapping()))
    x = torch.randn(4, 20)
    with torch.no_grad():
        y0 = tile(x)
        tile.set_read_time(3600.0)
        y1 = tile(x)
    g = tile.array.g * 3600.0 ** -0.05
    w_t = ((g - 5.5e-6) / 4.5e-6).T
    torch.testing.assert_close(y1, x @ w_t.T, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(y0, y1)
    with pytest.raises(ValueError, match="read time"):
        tile.set_read_time(-1.0)


def test_noise_management_uses_the_dac_range():
    cfg_nm = TileConfig(dac=DAC(bits=8), noise_management="abs_max")
    cfg_fixed = TileConfig(dac=DAC(bits=8))
    x = torch.randn(4, 20) * 100.0  # far beyond the DAC's fixed input range of 1
    with torch.no_grad():
        tile_nm, w = _tile(config=cfg_nm)
        y_nm = tile_nm(x)
        tile_fixed, _ = _tile(config=cfg_fixed)
        y_fixed = tile_fixed(x)
    exact = x @ w.T
    step = float(x.abs().amax()) / 127  # one DAC level at the largest input scale
    assert float((y_nm - exact).abs().max()) <= 20 * 0.5 * step * 0.5 + 1e-3
    torch.testing.assert_close(y_fixed, x.clamp(-1, 1) @ w.T, rtol=0, atol=20 * 0.5 / 127 * 0.5 + 1e-4)


def test_adc_saturation_and_bound_management():
    adc = ADC(bits=None, output_range=2.0)
    x = torch.ones(2, 20) * torch.tensor([[1.0], [0.05]])
    w = torch.full((12, 20), 0.5)  # full-scale output 10 for x = 1
    plain = AnalogTile(20, 12, TileConfig(adc=adc), seed=0)
    managed = AnalogTile(20, 12, TileConfig(adc=adc, bound_management=BoundManagement(max_repeats=3)), seed=0)
    for t in (plain, managed):
        t.set_weights_exact(w)
    with torch.no_grad():
        y_plain, y_managed = plain(x), managed(x)
    assert torch.allclose(y_plain[0], torch.full((12,), 2.0))  # saturated at the ADC range
    torch.testing.assert_close(y_plain[1], torch.full((12,), 0.5))  # below range: exact
    # 10 -> 5 -> 2.5 -> 1.25: three repeats bring it into range; the result is exact again
    torch.testing.assert_close(y_managed, x @ w.T)
    assert managed.cost.n_mvm == 2 + 3 and plain.cost.n_mvm == 2
    budget = AnalogTile(20, 12, TileConfig(adc=adc, bound_management=BoundManagement(max_repeats=1)), seed=0)
    budget.set_weights_exact(w)
    with torch.no_grad():
        assert torch.allclose(budget(x)[0], torch.full((12,), 4.0))  # one repeat: still saturated at 2 x 2


def test_output_noise_std():
    tile, w = _tile(n_in=10, n_out=200, config=TileConfig(output_noise=0.1))
    x = torch.rand(50, 10)
    with torch.no_grad():
        err = tile(x) - x @ w.T
    n = err.numel()
    assert abs(float(err.std()) - 0.1) < 5 * 0.1 / math.sqrt(2 * n)


def test_backward_uses_its_own_periphery():
    cfg = TileConfig(dac_backward=DAC(bits=3), adc_backward=ADC(bits=4, output_range=1.0))
    tile, w = _tile(config=cfg)
    x = torch.randn(6, 20, requires_grad=True)
    y = tile(x)
    torch.testing.assert_close(y, x @ w.T, rtol=1e-5, atol=1e-5)  # forward is ideal
    d = torch.randn(6, 12) * 0.3
    y.backward(d)
    u = DAC(bits=3).convert(d)  # fixed input range 1: clip and 7 levels
    expected = ADC(bits=4, output_range=1.0).convert(u @ w)
    torch.testing.assert_close(x.grad, expected, rtol=1e-5, atol=1e-5)


def test_validation_messages():
    tile, _ = _tile()
    tile.name = "fc1"
    with pytest.raises(ValueError, match=r"fc1: expected 20 input features .* got 21"):
        tile(torch.zeros(2, 21))
    bad = torch.zeros(2, 20)
    bad[1, 3] = float("nan")
    with pytest.raises(ValueError, match="fc1: .*NaN or inf"):
        tile(bad)
    bad[1, 3] = float("inf")
    with pytest.raises(ValueError, match="fc1"):
        tile(bad)
    with pytest.raises(ValueError, match="noise_management"):
        TileConfig(noise_management="max")
    with pytest.raises(ValueError, match="array_size"):
        TileConfig(array_size=(256, 1))
    with pytest.raises(ValueError, match="read_noise_sampling"):
        TileConfig(read_noise_sampling="fast")


def test_ir_drop_path():
    pytest.importorskip("memlearn.crossbar.ir_drop")
    from memlearn.crossbar.ir_drop import IRDropConfig

    x = torch.rand(3, 40, generator=torch.Generator().manual_seed(2))
    results = {}
    for r in (1e-9, 5.0):
        cfg = TileConfig(ir_drop=IRDropConfig(r_word_line=r, r_bit_line=r, method="exact"), array_size=(16, 16))
        tile, w = _tile(n_in=40, n_out=10, config=cfg)
        xr = x.clone().requires_grad_()
        y = tile(xr)
        y.sum().backward()
        results[r] = (y.detach(), xr.grad, w)
    y, grad, w = results[1e-9]
    torch.testing.assert_close(y, x @ w.T, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(grad, torch.ones(3, 10) @ w, rtol=1e-4, atol=1e-5)
    y5 = results[5.0][0]
    assert float((y5 - x @ w.T).abs().max()) > 1e-3  # wire resistance changes the result


@pytest.mark.parametrize("sampling,noisy", [("gaussian", False), ("per_vector", False), ("moment_matched", True)])
@pytest.mark.parametrize("array_size", [(16, 64), (64, 64)])
def test_int8_forward_agrees_with_float32_below_an_adc_lsb(monkeypatch, sampling, noisy, array_size):
    """With a DAC of <= 8 bits the forward read may multiply the integer DAC levels by two int8 digits
    of the weights (exact int32 products). Per partial output the deviation from the float32 product
    is at most ``sum_i |u_i| * max_i |w_ij| / 65024`` (normalised units, ``u`` the DAC levels in
    [-1, 1]): here <= rows / 65024 = 0.001 of full scale, ~0.01 of one 8-bit ADC LSB. Checked before
    rounding (no ADC bits); moment-matched noise takes the same random bits on both paths."""
    from memlearn.crossbar import tiling
    from memlearn.nn import _circuit as tile_module

    monkeypatch.setattr(tile_module, "fast_int8_matmul", lambda device, rows: device.type == "cpu")
    monkeypatch.setattr(tile_module, "INT8_MIN_BATCH", 1)
    noise = ReadNoise(relative=0.05, absolute=0.01) if noisy else None
    cfg = TileConfig(device=Device(response=Ideal(), read_noise=noise), dac=DAC(bits=8),
                     adc=ADC(bits=None, output_range=12.0), noise_management="abs_max",
                     read_noise_sampling=sampling, array_size=array_size)
    fast, w = _tile(n_in=40, n_out=12, config=cfg)
    x = torch.randn(7, 40, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        y_fast = fast(x)
    assert fast._read_statistics().int8 is not None
    monkeypatch.setattr(tile_module, "fast_int8_matmul", lambda device, rows: False)
    slow, _ = _tile(n_in=40, n_out=12, config=cfg)
    with torch.no_grad():
        y_slow = slow(x)
    assert slow._read_statistics().int8 is None
    rows, chunks = min(array_size[0], 40), fast.partition.n_row_chunks
    stats = fast._read_statistics()
    digits = stats.int8_pm[0] if stats.int8_pm is not None else stats.int8
    w_max = digits.scale * tiling.INT8_FULL_SCALE  # per output: largest |weight| the digits hold, normalised
    bound = chunks * rows * w_max / (2 * tiling.INT8_FULL_SCALE)  # sum_i |u_i| <= rows per chunk
    err = (y_fast - y_slow).abs() / (x.abs().amax(dim=1, keepdim=True) * fast.w_scale)
    assert bool((err <= bound + 1e-5).all()), (err.max(), bound)
    assert float(bound.max()) < 0.02 * ADC(bits=8, output_range=12.0).step
    assert float(err.max()) > 0  # the integer path did run


def test_small_training_batches_keep_the_float_read(monkeypatch):
    """The int8 digits cost passes over the weights once per write: a small batch (training, where
    every step writes) keeps the float32 read; a large one builds the digits and reuses them."""
    from memlearn.nn import _circuit as tile_module

    monkeypatch.setattr(tile_module, "fast_int8_matmul", lambda device, rows: device.type == "cpu")
    tile, _ = _tile(n_in=40, n_out=12, config=TileConfig(dac=DAC(bits=8), noise_management="abs_max"))
    with torch.no_grad():
        tile(torch.randn(tile_module.INT8_MIN_BATCH - 1, 40))
        assert tile._read_statistics().int8 is None
        tile(torch.randn(tile_module.INT8_MIN_BATCH, 40))
        assert tile._read_statistics().int8 is not None
        tile(torch.randn(2, 40))  # same weights: the digits are reused
        assert tile._read_statistics().int8 is not None


def test_training_reads_keep_the_float_read_and_repeated_reads_build_the_digits(monkeypatch):
    """With autograd on, a large batch builds the int8 digits only when it reads weights already
    read since the last write (inference without ``no_grad``), never for a training step's one
    forward read after each write."""
    from memlearn.nn import _circuit as tile_module

    monkeypatch.setattr(tile_module, "fast_int8_matmul", lambda device, rows: device.type == "cpu")
    tile, _ = _tile(n_in=40, n_out=12, config=TileConfig(dac=DAC(bits=8), noise_management="abs_max"))
    x = torch.randn(tile_module.INT8_MIN_BATCH, 40, requires_grad=True)
    cache = tile.read_cache
    cache.clear()
    tile(x).sum().backward()  # a training step's reads of these weights: forward, then backward
    assert cache.reads == 2 and cache.current.int8 is None
    cache.clear()
    tile(x)
    assert cache.current.int8 is None
    tile(x)  # the same weights read again: now the digits pay
    assert cache.current.int8 is not None


def test_int8_forward_ideal_dac_matches_matmul_within_dac_rounding(monkeypatch):
    """Noiseless, 8-bit DAC, no ADC: the int8 path equals the float matmul of the DAC-rounded inputs."""
    from memlearn.nn import _circuit as tile_module

    monkeypatch.setattr(tile_module, "fast_int8_matmul", lambda device, rows: device.type == "cpu")
    monkeypatch.setattr(tile_module, "INT8_MIN_BATCH", 1)
    cfg = TileConfig(dac=DAC(bits=8), noise_management="abs_max", array_size=(16, 64))
    tile, w = _tile(n_in=40, n_out=12, config=cfg)
    x = torch.randn(5, 40, generator=torch.Generator().manual_seed(7))
    alpha = x.abs().amax(dim=1, keepdim=True)
    xq = torch.round(x / alpha * 127) / 127 * alpha
    with torch.no_grad():
        torch.testing.assert_close(tile(x), xq @ w.T, rtol=1e-4, atol=1e-4)
    assert tile._read_statistics().int8 is not None
