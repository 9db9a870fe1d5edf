"""The batched mode's drawn counts against per-sample coincidences on the same inputs: mean and
variance of the counts and of the conductance change, within tolerances from the sample size;
compiled and torch draws agree."""

from __future__ import annotations

import math

import pytest
import torch

from memlearn import _numba
from memlearn.periphery._count_kernel import NORMAL_ABOVE
from memlearn.periphery.drawn_counts import count_moments, drawn_events, line_probabilities
from memlearn.periphery.pulse_coding import stochastic_counts

LR, DW_MIN, BL = 0.1, 0.01, 31
REPEATS = 600


def _inputs(batch: int = 6, n_in: int = 7, n_out: int = 5):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, n_in, generator=g)
    x[torch.rand(x.shape, generator=g) < 0.3] = 0.0
    d = 0.3 * torch.randn(batch, n_out, generator=g)
    return x, d


def _dense(events, shape):
    w_index, n, _ = events
    return torch.zeros(shape[0] * shape[1], dtype=torch.float64).index_add_(0, w_index, n.to(torch.float64)).view(shape)


def _stats(draw, repeats: int):
    samples = torch.stack([draw(torch.Generator().manual_seed(s)) for s in range(repeats)])
    return samples.mean(0), samples.var(0)


@pytest.mark.parametrize("bl_management", [True, False])
def test_drawn_counts_have_the_per_sample_mean_and_variance(bl_management):
    x, d = _inputs()
    shape = (d.shape[1], x.shape[1])
    kw = dict(bl_management=bl_management)
    drawn_mean, drawn_var = _stats(lambda g: _dense(drawn_events(x, d, LR, DW_MIN, BL, g, **kw), shape), REPEATS)
    exact_mean, exact_var = _stats(lambda g: stochastic_counts(x, d, LR, DW_MIN, BL, g, **kw).to(torch.float64),
                                   REPEATS)
    p, r, lengths = line_probabilities(x.clone(), d.clone(), LR, DW_MIN, BL, True, bl_management)
    a, m, w = count_moments(p, r, lengths)
    # the closed-form moments are those of the per-sample streams (their sample means agree) ...
    se = (exact_var / REPEATS).sqrt() + 1e-3
    assert bool(((exact_mean - m.double()).abs() <= 5 * se).all())
    assert bool(((exact_var - (a - w).double()).abs() <= 5 * (a - w).double() * math.sqrt(2 / REPEATS) + 2e-2).all())
    # ... and the drawn counts have them: means within 5 standard errors, variances within 5 of
    # the variance estimate's own standard error (normal approximation), plus a little slack
    assert bool(((drawn_mean - exact_mean).abs() <= 5 * (((drawn_var + exact_var) / REPEATS).sqrt()) + 1e-3).all())
    tol = 5 * (drawn_var + exact_var) * math.sqrt(2 / REPEATS) + 5e-2
    assert bool(((drawn_var - exact_var).abs() <= tol).all())
    assert float(exact_var.sum()) > 1.0  # the case is not degenerate


def test_drawn_counts_move_conductances_like_per_sample_counts():
    """Through a tile: mean and variance of the weight change after one batch, both modes (weights
    mid-range, so that no device reaches a bound: there in-order and net writes clip differently)."""
    from memlearn.crossbar.mapping import ReferenceColumnMapping
    from memlearn.devices import Device
    from memlearn.devices.responses import LinearStep
    from memlearn.nn.tile import AnalogTile, TileConfig
    from memlearn.rules.stochastic import StochasticPulse

    x, d = _inputs()
    config = TileConfig(device=Device(response=LinearStep(states=200, sigma_c2c=0.002)),
                        mapping=ReferenceColumnMapping())

    def change(rule, seed):
        tile = AnalogTile(x.shape[1], d.shape[1], config, seed=1)
        tile.set_weights_exact(torch.zeros(d.shape[1], x.shape[1]))
        w0 = tile.weights().clone()
        tile.generator.manual_seed(seed)
        from memlearn.rules.rule import apply_update
        from memlearn.rules.update_request import UpdateRequest

        apply_update(rule, UpdateRequest(x=x, d=d, lr=LR), tile, rule.init(tile), tile.generator)
        return (tile.weights() - w0).double()

    drawn = torch.stack([change(StochasticPulse(batched="drawn"), s) for s in range(300)])
    summed = torch.stack([change(StochasticPulse(per_sample=True), s) for s in range(300)])
    dm, sm = drawn.mean(0), summed.mean(0)
    dv, sv = drawn.var(0), summed.var(0)
    assert bool(((dm - sm).abs() <= 5 * ((dv + sv) / 300).sqrt() + 1e-6).all())
    assert bool(((dv - sv).abs() <= 5 * (dv + sv) * math.sqrt(2 / 300) + 1e-8).all())
    assert float(sm.abs().max()) > 0


@pytest.mark.skipif(_numba.numba is None, reason="numba is not installed: only the torch path exists")
def test_compiled_and_torch_draws_agree(monkeypatch):
    g = torch.Generator().manual_seed(1)
    x = torch.rand(64, 40, generator=g)
    d = 0.5 * torch.randn(64, 30, generator=g)
    out = []
    for enabled in (True, False):
        monkeypatch.setattr(_numba, "ENABLED", enabled)
        out.append(drawn_events(x, d, LR, 0.001, BL, torch.Generator().manual_seed(3)))
    (i0, n0, l0), (i1, n1, l1) = out
    assert torch.equal(i0, i1) and torch.equal(n0, n1) and l0 == l1
    assert int(n0.abs().max()) > NORMAL_ABOVE  # counts this large come from the normal branch too


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_drawn_counts_on_cuda_have_the_closed_form_mean():
    x, d = (t.cuda() for t in _inputs())
    p, r, lengths = line_probabilities(x.clone(), d.clone(), LR, DW_MIN, BL, True, True)
    _, m, _ = count_moments(p, r, lengths)
    shape = (d.shape[1], x.shape[1])

    def dense(g):
        w_index, n, _ = drawn_events(x, d, LR, DW_MIN, BL, g)
        return torch.zeros(shape[0] * shape[1], dtype=torch.float64, device="cuda").index_add_(
            0, w_index, n.to(torch.float64)).view(shape)

    samples = torch.stack([dense(torch.Generator("cuda").manual_seed(s)) for s in range(300)])
    mean, var = samples.mean(0), samples.var(0)
    assert bool(((mean - m.double()).abs() <= 5 * (var / 300).sqrt() + 1e-3).all())
