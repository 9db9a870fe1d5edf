"""Pulse coding: stochastic coincidence counts are unbiased, batched = sum of per-sample."""

from __future__ import annotations

import math

import pytest
import torch

from memlearn.periphery.line_trains import management_scales, managed_lengths
from memlearn.periphery.pulse_coding import bit_streams, rounded_counts, sign_counts, stochastic_counts


def _request(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(4, 6, generator=g) * 2 - 1
    d = torch.randn(4, 3, generator=g) * 0.05
    return x, d


def test_bit_streams_have_the_requested_probability():
    g = torch.Generator().manual_seed(0)
    p = torch.tensor([[0.0, 0.1, 0.5, 0.9, 1.0]])
    bits = bit_streams(p, 20000, g)
    freq = bits.mean(dim=1)[0]
    tol = 5 * torch.sqrt(p * (1 - p) / 20000)[0] + 1e-4
    assert torch.all((freq - p[0]).abs() <= tol), (freq, p)
    assert set(bits.unique().tolist()) <= {0.0, 1.0}


def test_stochastic_counts_are_unbiased():
    x, d = _request()
    lr, dw_min, n = 0.2, 0.01, 1000
    g = torch.Generator().manual_seed(1)
    counts = torch.stack([stochastic_counts(x, d, lr, dw_min, 31, g).float() for _ in range(n)])
    expected = -lr * d.T @ x / dw_min
    # Standard error of the mean from the sample variance, 5 sigma.
    se = counts.std(dim=0) / math.sqrt(n)
    assert torch.all((counts.mean(0) - expected).abs() <= 5 * se + 0.02), (counts.mean(0), expected)


def test_per_sample_counts_sum_to_the_batched_counts():
    x, d = _request(2)
    a = stochastic_counts(x, d, 0.3, 0.01, 31, torch.Generator().manual_seed(5), per_sample=True)
    b = stochastic_counts(x, d, 0.3, 0.01, 31, torch.Generator().manual_seed(5), per_sample=False)
    assert a.shape == (4, 3, 6) and b.shape == (3, 6)
    assert torch.equal(a.sum(0), b)


def test_coincidence_events_are_the_nonzero_per_sample_counts():
    from memlearn.periphery.pulse_coding import coincidence_events, signed_streams

    x, d = _request(6)
    x[:, 1] = 0.0  # an input without pulses: its rows never appear
    sd, sx = signed_streams(x, d, 0.3, 0.001, 31, torch.Generator().manual_seed(1))
    dense = torch.bmm(sd.transpose(1, 2), sx).to(torch.int32)  # (batch, out, in)
    w, n, lengths = coincidence_events(sd, sx, per_sample=True)
    assert lengths == [int((c != 0).sum()) for c in dense] and sum(lengths) == w.numel() == n.numel()
    rebuilt = torch.zeros_like(dense)
    for b, (wb, nb) in enumerate(zip(w.split(lengths), n.split(lengths))):
        assert wb.unique().numel() == wb.numel()  # distinct weights within one write
        rebuilt[b].view(-1)[wb] = nb
    assert torch.equal(rebuilt, dense)
    assert not bool((rebuilt[:, :, 1] != 0).any())
    w1, n1, lengths1 = coincidence_events(sd, sx, per_sample=False)
    assert len(lengths1) == 1
    summed = torch.zeros_like(dense[0])
    summed.view(-1)[w1] = n1
    assert torch.equal(summed, dense.sum(0)) and bool((n1 != 0).all())


def test_update_management_balances_the_streams():
    x, d = _request(3)
    c_x, c_d = management_scales(x, d, 0.1, 0.01, 31)
    px = (c_x * x.abs()).amax(1)
    pd = (c_d * d.abs()).amax(1)
    assert torch.allclose(px, pd, rtol=1e-5)
    assert torch.allclose(c_x * c_d, torch.full_like(c_x, 0.1 / (0.01 * 31)), rtol=1e-5)


def test_bl_management_shortens_small_updates():
    x, d = _request(4)
    assert managed_lengths(x, d * 1e-4, 0.1, 0.01, 31).tolist() == [1] * 4
    assert managed_lengths(x, d * 1e4, 0.1, 0.01, 31).tolist() == [31] * 4


def test_bl_management_sizes_each_sample_on_its_own():
    """aihwkit sizes each vector's trains from its own max|x| max|d|: a sample with a tiny error
    gets a short train (and its slots past that stay empty), not the batch's longest."""
    from memlearn.periphery.pulse_coding import signed_streams

    x = torch.ones(2, 5)
    d = torch.tensor([[0.5, -0.5, 0.1], [1e-4, 0.0, 1e-4]])
    lengths = managed_lengths(x, d, 0.1, 0.01, 31)
    assert lengths.tolist() == [5, 1]  # ceil(10 * 1 * 0.5) and the minimum of 1
    sd, sx = signed_streams(x, d, 0.1, 0.01, 31, torch.Generator().manual_seed(0))
    assert sd.shape[1] == sx.shape[1] == 5
    assert not bool(sd[1, 1:].any()) and not bool(sx[1, 1:].any())


@pytest.mark.parametrize("per_sample", [True, False])
def test_compiled_and_torch_coincidences_agree(per_sample, monkeypatch):
    """The compiled popcount loop reads the same draws and returns the same events, in order."""
    from memlearn import _numba
    from memlearn.periphery.pulse_coding import stochastic_events

    if _numba.numba is None:
        pytest.skip("numba is not installed: only the torch path exists")
    gen = torch.Generator().manual_seed(4)
    x = torch.rand(7, 40, generator=gen) * (torch.rand(7, 40, generator=gen) > 0.5)
    d = torch.randn(7, 12, generator=gen) * 0.1
    x[2] = 0.0  # a sample without input pulses
    d[:, 3] = 0.0  # an error line that never fires
    runs = []
    for enabled in (True, False):
        monkeypatch.setattr(_numba, "ENABLED", enabled)
        runs.append(stochastic_events(x, d, 0.1, 0.001, 31, torch.Generator().manual_seed(9), per_sample=per_sample))
    (w1, n1, l1), (w2, n2, l2) = runs
    assert l1 == l2 and torch.equal(w1, w2) and torch.equal(n1, n2)
    assert w1.numel() > 100 and bool((n1 != 0).all())
    if per_sample:
        assert l1[2] == 0


@pytest.mark.parametrize("update_management,bl_management", [(True, True), (True, False), (False, True), (False, False)])
def test_compiled_train_preparation_is_the_torch_definition(update_management, bl_management, monkeypatch):
    """Levels, signs, lengths and the draws of the compiled preparation equal the torch path's bit
    for bit: random shapes and scales, saturated probabilities (level 2^15 - 1), exact ties of the
    rounding, empty lines, zero and negative inputs; non-finite inputs go to the torch path."""
    from memlearn import _numba
    from memlearn.periphery.line_trains import line_trains

    if _numba.numba is None:
        pytest.skip("numba is not installed: only the torch path exists")
    gen = torch.Generator().manual_seed(11)
    for case in range(60):
        batch, n_in, n_out = (int(torch.randint(lo, hi, (1,), generator=gen)) for lo, hi in ((1, 12), (0, 50), (0, 20)))
        x = torch.randn(batch, n_in, generator=gen) if case % 3 == 0 else \
            torch.rand(batch, n_in, generator=gen) * (torch.rand(batch, n_in, generator=gen) > 0.5)
        if case % 4 == 0:
            x = (x * 8).round() / 8  # many equal values: exact rounding ties
        d = torch.randn(batch, n_out, generator=gen) * 10 ** float(torch.empty(1).uniform_(-4, 1, generator=gen))
        if case == 5 and n_in and not bl_management:  # (with BL management a NaN length fails either way)
            x[0, 0] = float("nan")
        lr = float(10 ** torch.empty(1).uniform_(-3, 0, generator=gen))
        dw_min = float(10 ** torch.empty(1).uniform_(-4, -2, generator=gen))
        bl = int(torch.randint(1, 64, (1,), generator=gen))
        runs = []
        for enabled in (True, False):
            monkeypatch.setattr(_numba, "ENABLED", enabled)
            runs.append(line_trains(x, d, lr, dw_min, bl, torch.Generator().manual_seed(case),
                                    update_management=update_management, bl_management=bl_management))
        compiled, reference = runs
        for name, a, b in zip(compiled._fields, compiled, reference):
            if isinstance(a, torch.Tensor):
                assert a.dtype == b.dtype and torch.equal(a, b), (case, name)
            else:
                assert a == b, (case, name)


def test_rounded_and_sign_counts():
    x = torch.tensor([[1.0, -2.0, 0.0]])
    d = torch.tensor([[0.5], [0.0]]).T  # (1, 2)
    n = rounded_counts(x, d, lr=0.1, dw_min=0.01, max_pulses=7)
    assert n.dtype == torch.int32
    assert n.tolist() == [[-5, 7, 0], [0, 0, 0]]
    assert sign_counts(x, d).tolist() == [[-1, 1, 0], [0, 0, 0]]
