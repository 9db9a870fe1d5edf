"""Tiling: a 600x300 layer over 256x256 arrays equals the untiled layer when ideal."""

from __future__ import annotations

import torch

from memlearn.crossbar.tiling import TilePartition
from memlearn.nn import AnalogTile, TileConfig
from memlearn.periphery import ADC


def test_partition_counts():
    p = TilePartition(in_features=600, out_features=300, array_rows=256, outputs_per_array=128)
    assert (p.n_row_chunks, p.n_col_blocks, p.n_arrays) == (3, 3, 9)
    assert p.row_chunks() == [(0, 256), (256, 512), (512, 600)]
    assert p.col_blocks() == [(0, 128), (128, 256), (256, 300)]
    gen = torch.Generator().manual_seed(0)
    w, u, d = torch.randn(600, 300, generator=gen), torch.randn(5, 600, generator=gen), torch.randn(5, 300, generator=gen)
    fwd = p.forward_partials(u, p.pad_weights(w))
    assert fwd.shape == (3, 5, 300)
    torch.testing.assert_close(fwd.sum(0), u @ w, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(fwd[1], u[:, 256:512] @ w[256:512], rtol=1e-5, atol=1e-4)
    bwd = p.backward_partials(d, p.pad_weights(w))
    assert bwd.shape == (3, 5, 600)
    torch.testing.assert_close(bwd.sum(0), d @ w.T, rtol=1e-5, atol=1e-4)


def _pair(config_a: TileConfig, config_b: TileConfig):
    w = torch.randn(300, 600, generator=torch.Generator().manual_seed(3)) * 0.05
    tiles = []
    for cfg in (config_a, config_b):
        t = AnalogTile(600, 300, cfg, seed=0)
        t.set_weights_exact(w)
        tiles.append(t)
    return tiles


def test_tiled_equals_untiled_when_ideal():
    tiled, untiled = _pair(TileConfig(), TileConfig(array_size=(1024, 1024)))
    assert tiled.partition.n_arrays == 9 and untiled.partition.n_arrays == 1
    x = torch.randn(7, 600, generator=torch.Generator().manual_seed(4))
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = tiled(xa), untiled(xb)
    torch.testing.assert_close(ya, yb, rtol=1e-5, atol=1e-5)
    g = torch.randn(7, 300, generator=torch.Generator().manual_seed(5))
    ya.backward(g)
    yb.backward(g)
    torch.testing.assert_close(xa.grad, xb.grad, rtol=1e-5, atol=1e-5)


def test_each_array_digitised_separately():
    """With a coarse ADC, the tiled result is the sum of separately quantised partial outputs."""
    adc = ADC(bits=4, output_range=8.0)
    tiled, _ = _pair(TileConfig(adc=adc), TileConfig(adc=adc, array_size=(1024, 1024)))
    x = torch.rand(4, 600, generator=torch.Generator().manual_seed(6))
    w_n = tiled.weights().T  # w_max = 1, fixed scale
    expected = sum(adc.convert(x[:, r0:r1] @ w_n[r0:r1]) for r0, r1 in tiled.partition.row_chunks())
    with torch.no_grad():
        torch.testing.assert_close(tiled(x), expected, rtol=1e-5, atol=1e-5)
    assert tiled.cost.n_adc == 4 * 300 * 3
