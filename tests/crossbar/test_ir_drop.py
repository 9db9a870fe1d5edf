"""IR-drop solvers: the exact solver against badcrossbar's reference data, limits, and the approximation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from memlearn.crossbar.ir_drop.solve import (
    IRDropConfig,
    _nested_is_cheaper,
    effective_conductance,
    first_order_conductance,
    solve,
    solve_approx,
    solve_exact,
    solve_nodal,
)
from memlearn.crossbar.ir_drop.cg import WireResistances
from memlearn.crossbar.ir_drop.sparse import solve_nodal_sparse

REFERENCE_FILES = [
    "badcrossbar_16x16_ri0.5_seed0.npz",
    "badcrossbar_16x16_riwl1_ribl2_seed0.npz",
    "badcrossbar_32x16_ri5_seed1.npz",
    "badcrossbar_bench_64x64_ri0.5_seed64.npz",
    "badcrossbar_bench_128x128_ri0.5_seed128.npz",
    "badcrossbar_bench_256x256_ri0.5_seed256.npz",
]


def _load(shared_data, name):
    path = shared_data / "ir_drop" / name
    if not path.is_file():
        pytest.skip(f"reference file {path} is absent")
    with np.load(path) as d:
        return {k: d[k] for k in d.files}


def _assert_close(actual, expected, *, rtol=0.0, atol=0.0):
    # torch.testing.assert_close imports torch.distributed.tensor on first use (~3 s in torch 2.13)
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    err = (actual - expected).abs()
    bound = atol + rtol * expected.abs()
    assert bool((err <= bound).all()), f"max error {float(err.max()):.3e}"


def _random_case(rows, cols, batch, seed, v_lo=0.0, v_hi=0.5):
    gen = torch.Generator().manual_seed(seed)
    g = 10.0 ** -(3.0 + 3.0 * torch.rand(rows, cols, generator=gen, dtype=torch.float64))
    v = v_lo + (v_hi - v_lo) * torch.rand(batch, rows, generator=gen, dtype=torch.float64)
    return g, v


@pytest.mark.parametrize("name", REFERENCE_FILES)
def test_exact_matches_badcrossbar_reference(shared_data, name):
    d = _load(shared_data, name)
    g = torch.from_numpy(1.0 / d["resistances"])
    v = torch.from_numpy(d["applied_voltages"].T.copy())
    ref = d["output_currents"]
    sol = solve_nodal(g, v, float(d["r_i_word_line"]), float(d["r_i_bit_line"]))
    scale = np.abs(ref).max()
    assert np.abs(sol.currents.numpy() - ref).max() <= 1e-9 * scale
    # the case must be one where ignoring wire resistance fails the same check
    assert np.abs(d["ideal_output_currents"] - ref).max() > 1e-3 * scale
    if "word_line_voltages" in d:  # stored (rows, cols, batch)
        v_scale = np.abs(d["applied_voltages"]).max()
        assert np.abs(sol.word_line_voltages.numpy().transpose(1, 2, 0) - d["word_line_voltages"]).max() <= 1e-9 * v_scale
        assert np.abs(sol.bit_line_voltages.numpy().transpose(1, 2, 0) - d["bit_line_voltages"]).max() <= 1e-9 * v_scale
        assert np.abs(sol.device_currents.numpy().transpose(1, 2, 0) - d["device_currents"]).max() <= 1e-9 * scale


@pytest.mark.parametrize("name", REFERENCE_FILES)
@pytest.mark.parametrize("method", ["cg", "nested"])
def test_both_exact_algorithms_match_reference(shared_data, name, method):
    d = _load(shared_data, name)
    g = torch.from_numpy(1.0 / d["resistances"])
    v = torch.from_numpy(d["applied_voltages"].T.copy())
    ref = d["output_currents"]
    out = solve_exact(g, v, float(d["r_i_word_line"]), float(d["r_i_bit_line"]), method=method)
    assert np.abs(out.numpy() - ref).max() <= 1e-9 * np.abs(ref).max()


def test_auto_picks_nested_for_many_vectors_and_cg_for_one():
    # the issue-3 benchmark cases: 256 x 256 with 1 and with 64 input vectors
    assert _nested_is_cheaper(256, 256, 64) and not _nested_is_cheaper(256, 256, 1)
    assert _nested_is_cheaper(64, 64, 64) and not _nested_is_cheaper(64, 64, 2)


def test_asymmetric_lines_are_not_swapped(shared_data):
    d = _load(shared_data, "badcrossbar_16x16_riwl1_ribl2_seed0.npz")
    g = torch.from_numpy(1.0 / d["resistances"])
    v = torch.from_numpy(d["applied_voltages"].T.copy())
    ref = d["output_currents"]
    swapped = solve_exact(g, v, float(d["r_i_bit_line"]), float(d["r_i_word_line"])).numpy()
    right = solve_exact(g, v, float(d["r_i_word_line"]), float(d["r_i_bit_line"])).numpy()
    assert np.abs(right - ref).max() < 1e-9 * np.abs(ref).max() < np.abs(swapped - ref).max()


def test_sparse_nodal_solver_agrees_with_cg():
    g, v = _random_case(24, 20, 3, seed=1, v_lo=-0.4, v_hi=0.4)
    r = WireResistances(r_word_line=2.0, r_bit_line=1.0, r_source=7.0, r_sense=3.0)
    cur, u, w = solve_nodal_sparse(g.numpy(), v.numpy(), r)
    sol = solve_nodal(g, v, 2.0, 1.0, r_source=7.0, r_sense=3.0)
    assert np.abs(sol.currents.numpy() - cur).max() <= 1e-10 * np.abs(cur).max()
    assert np.abs(sol.word_line_voltages.numpy() - u).max() <= 1e-10
    assert np.abs(sol.bit_line_voltages.numpy() - w).max() <= 1e-10


def test_nested_matches_sparse_lu_for_many_vectors():
    # two independent direct solvers, a non-square padded array, 64 input vectors
    g, v = _random_case(48, 80, 64, seed=15, v_lo=-0.5)
    r = WireResistances(r_word_line=0.7, r_bit_line=1.3, r_source=4.0, r_sense=0.5)
    cur, _, _ = solve_nodal_sparse(g.numpy(), v.numpy(), r)
    nested = solve_exact(g, v, 0.7, 1.3, r_source=4.0, r_sense=0.5, method="nested").numpy()
    assert np.abs(nested - cur).max() <= 1e-10 * np.abs(cur).max()


@pytest.mark.parametrize("shape", [(1, 1), (1, 3), (3, 1), (2, 5), (5, 2), (9, 6)])
def test_nested_matches_cg_on_small_and_odd_shapes(shape):
    g, v = _random_case(*shape, 3, seed=sum(shape), v_lo=-0.5)
    nested = solve_exact(g, v, 3.0, 2.0, r_source=5.0, method="nested")
    cg = solve_exact(g, v, 3.0, 2.0, r_source=5.0, method="cg")
    _assert_close(nested, cg, atol=1e-11 * float(cg.abs().max()))


def test_kirchhoff_current_law_holds_at_every_node():
    g, v = _random_case(12, 9, 2, seed=2)
    r_wl, r_bl = 3.0, 5.0
    sol = solve_nodal(g, v, r_wl, r_bl)
    u, w, i_dev = sol.word_line_voltages, sol.bit_line_voltages, sol.device_currents
    _assert_close(i_dev, g * (u - w), rtol=0.0, atol=1e-12 * float(i_dev.abs().max()))
    left = torch.cat([v[:, :, None], u[:, :, :-1]], dim=-1)
    seg_in = (left - u) / r_wl  # current arriving from the left
    seg_out = torch.cat([(u[:, :, :-1] - u[:, :, 1:]) / r_wl, torch.zeros_like(u[:, :, :1])], dim=-1)
    _assert_close(seg_in - seg_out, i_dev, rtol=0.0, atol=1e-12 * float(i_dev.abs().max()))
    below = torch.cat([w[:, 1:, :], torch.zeros_like(w[:, :1, :])], dim=1)
    out_down = (w - below) / r_bl
    in_top = torch.cat([torch.zeros_like(w[:, :1, :]), (w[:, :-1, :] - w[:, 1:, :]) / r_bl], dim=1)
    _assert_close(in_top + i_dev, out_down, rtol=0.0, atol=1e-12 * float(i_dev.abs().max()))
    _assert_close(sol.currents, out_down[:, -1, :], rtol=1e-12, atol=0.0)


def test_zero_line_resistance_is_ideal_mvm():
    g, v = _random_case(17, 11, 4, seed=3, v_lo=-0.5)
    ideal = v @ g
    _assert_close(solve_exact(g, v, 0.0, 0.0), ideal, rtol=1e-12, atol=0.0)
    _assert_close(solve_approx(g, v, 0.0, 0.0), ideal, rtol=1e-12, atol=0.0)


def test_one_sided_zero_resistance():
    g, v = _random_case(10, 8, 2, seed=4)
    # ideal word lines: every device sees v[i] minus its bit-line voltage only
    sol = solve_nodal(g, v, 0.0, 4.0)
    _assert_close(sol.word_line_voltages, v[:, :, None].expand(-1, -1, 8), rtol=1e-12, atol=0.0)
    # ideal bit lines: every bit-line node is at ground
    sol = solve_nodal(g, v, 4.0, 0.0)
    assert float(sol.bit_line_voltages.abs().max()) == 0.0
    assert bool((sol.currents < (v @ g)).all())


def test_negative_voltages_are_odd_symmetric():
    g, v = _random_case(20, 12, 3, seed=5, v_lo=-0.5, v_hi=0.5)
    pos = solve_exact(g, v, 1.0, 2.0)
    _assert_close(solve_exact(g, -v, 1.0, 2.0), -pos, rtol=1e-12, atol=0.0)
    assert bool((v < 0).any()) and bool((pos < 0).any())


@pytest.mark.parametrize("method", ["cg", "nested"])
def test_batch_equals_one_at_a_time(method):
    g, v = _random_case(30, 25, 6, seed=6, v_lo=-0.3)
    kw = dict(r_source=2.0, r_sense=0.3, method=method)
    together = solve_exact(g, v, 1.5, 0.7, **kw)
    single = torch.stack([solve_exact(g, vi, 1.5, 0.7, **kw) for vi in v])
    _assert_close(together, single, rtol=0.0, atol=1e-11 * float(single.abs().max()))


def test_nested_and_cg_agree_with_source_and_sense_resistances():
    g, v = _random_case(40, 33, 5, seed=13, v_lo=-0.5)
    kw = dict(r_source=12.0, r_sense=0.2)
    nested = solve_exact(g, v, 2.5, 0.8, method="nested", **kw)  # 40 x 33: padded to 64 x 64
    cg = solve_exact(g, v, 2.5, 0.8, method="cg", **kw)
    _assert_close(nested, cg, rtol=0.0, atol=1e-10 * float(cg.abs().max()))
    g_eff = effective_conductance(g.float(), 2.5, 0.8, **kw)
    assert g_eff.dtype == torch.float32 and g_eff.shape == (40, 33)
    _assert_close((v.float() @ g_eff).double(), cg, atol=1e-6 * float(cg.abs().max()))
    with pytest.raises(ValueError, match="nested"):
        solve_exact(g, v, 0.0, 0.8, method="nested")


def test_open_devices_carry_no_current():
    g, v = _random_case(9, 7, 2, seed=7)
    g[2, :] = 0.0
    g[:, 4] = 0.0
    sol = solve_nodal(g, v, 2.0, 2.0)
    assert float(sol.device_currents[:, 2, :].abs().max()) == 0.0
    assert float(sol.currents[:, 4].abs().max()) == 0.0


def test_output_dtype_and_shape_follow_inputs():
    g, v = _random_case(8, 6, 5, seed=8)
    out = solve_exact(g.float(), v.float(), 1.0, 1.0)
    assert out.dtype == torch.float32 and out.shape == (5, 6)
    assert solve_exact(g, v[0], 1.0, 1.0).shape == (6,)
    assert solve_approx(g.float(), v[0].float(), 1.0, 1.0).shape == (6,)


def test_approx_error_small_for_small_resistance_and_beats_ignoring_ir_drop():
    g, v = _random_case(64, 64, 4, seed=9)
    for r_line in (0.1, 1.0):
        exact = solve_exact(g, v, r_line, r_line)
        scale = float(exact.abs().max())
        err_ideal = float((v @ g - exact).abs().max()) / scale
        err_first = float((solve_approx(g, v, r_line, r_line) - exact).abs().max()) / scale
        err_cg = float((solve_approx(g, v, r_line, r_line, iterations=8) - exact).abs().max()) / scale
        assert err_first < 0.2 * err_ideal
        assert err_cg < 1e-3 * err_ideal


def test_first_order_model_is_exact_to_first_order():
    g, v = _random_case(32, 24, 3, seed=14)
    rel = []
    for r_line in (0.01, 0.001):
        exact = solve_exact(g, v, r_line, r_line)
        effect = float((v @ g - exact).abs().max())
        err = float((v @ first_order_conductance(g, r_line, r_line) - exact).abs().max())
        rel.append(err / effect)
    # the residual error is second order: 10x smaller r -> ~10x smaller error relative to the effect
    assert rel[0] < 0.05 and rel[1] < 0.2 * rel[0]
    _assert_close(solve_approx(g, v, 0.01, 0.01), v @ first_order_conductance(g, 0.01, 0.01), rtol=1e-12)


def test_approx_error_shrinks_with_iterations(shared_data):
    d = _load(shared_data, "badcrossbar_32x16_ri5_seed1.npz")
    g = torch.from_numpy(1.0 / d["resistances"])
    v = torch.from_numpy(d["applied_voltages"].T.copy())
    ref = torch.from_numpy(d["output_currents"])
    errors = [float((solve_approx(g, v, 5.0, 5.0, iterations=k) - ref).abs().max()) for k in (0, 1, 2, 4, 8)]
    assert all(b < a for a, b in zip(errors, errors[1:]))
    assert errors[-1] < 1e-6 * float(ref.abs().max())


def test_approx_is_differentiable():
    g, v = _random_case(16, 12, 3, seed=10)
    g = g.clone().requires_grad_(True)
    v = v.clone().requires_grad_(True)
    for iterations in (0, 3):
        g.grad, v.grad = None, None
        solve_approx(g, v, 1.0, 1.0, iterations=iterations).sum().backward()
        assert v.grad is not None and g.grad is not None and bool(torch.isfinite(g.grad).all())
    # IR drop lowers the sensitivity to a device far from both drivers and sense amplifiers
    assert float(g.grad[0, -1]) < float(v.detach().sum(0)[0])


def test_config_validation_and_dispatch():
    with pytest.raises(ValueError, match="r_word_line"):
        IRDropConfig(r_word_line=-1.0, r_bit_line=1.0)
    with pytest.raises(ValueError, match="r_sense"):
        IRDropConfig(r_word_line=1.0, r_bit_line=1.0, r_sense=float("inf"))
    with pytest.raises(ValueError, match="method"):
        IRDropConfig(r_word_line=1.0, r_bit_line=1.0, method="fast")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="approx_iterations"):
        IRDropConfig(r_word_line=1.0, r_bit_line=1.0, approx_iterations=-1)
    g, v = _random_case(20, 10, 2, seed=11)
    exact = solve(IRDropConfig(r_word_line=2.0, r_bit_line=2.0, method="exact"), g, v)
    _assert_close(exact, solve_exact(g, v, 2.0, 2.0))
    approx = solve(IRDropConfig(r_word_line=2.0, r_bit_line=2.0, approx_iterations=2), g, v)
    _assert_close(approx, solve_approx(g, v, 2.0, 2.0, iterations=2))
    with pytest.raises(ValueError, match="rows"):
        solve_exact(g, v[:, :5], 1.0, 1.0)


def test_nonconvergence_is_reported_not_hidden():
    g, v = _random_case(32, 32, 1, seed=12)
    with pytest.raises(RuntimeError, match="did not reach"):
        solve_exact(g, v, 50.0, 50.0, max_iter=2, method="cg")
