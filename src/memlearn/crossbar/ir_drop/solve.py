"""IR drop entry points: ``solve(config, g, v)`` picks the exact solver (CG or nested dissection,
by cost) or the fast first-order/few-CG-step approximation for training loops (``IRDropConfig.method``).

Wire resistance (IR drop) in a crossbar: an exact solver and a fast approximation.

Both follow the badcrossbar circuit convention (Joksas & Mehonic, "badcrossbar: A Python tool for
computing and plotting currents and voltages in passive crossbar arrays", SoftwareX 12, 2020):
``g`` (rows, cols) in S with rows = word lines (inputs), cols = bit lines (outputs); ``v``
(batch, rows) in V applied at the ``j = 0`` end of each word line through ``r_source``; each bit
line reaches a virtual ground at its ``i = rows-1`` end through ``r_sense``; the result is the
current (batch, cols) in A flowing into that ground. With no wire resistance it is ``v @ g``.
The equations and the solver choice are in ``cg.py`` and ``docs/ir_drop.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, NamedTuple

import torch
from torch import Tensor

from memlearn.crossbar.ir_drop.cg import (
    WireResistances,
    bit_line_rise,
    conjugate_gradient,
    first_order_attenuation,
    word_line_drop,
)
from memlearn.crossbar.ir_drop.nested import effective_conductance as nested_effective_conductance
from memlearn.validation import check_count

__all__ = ["IRDropConfig", "NodalSolution", "effective_conductance", "first_order_conductance",
           "solve", "solve_approx", "solve_exact", "solve_nodal"]


@dataclass(frozen=True, kw_only=True)
class IRDropConfig:
    """Line resistances of a crossbar and the solver a tile uses for them."""

    r_word_line: float
    """Resistance of one word-line segment between adjacent cells (ohm, >= 0, finite)."""
    r_bit_line: float
    """Resistance of one bit-line segment between adjacent cells (ohm, >= 0, finite)."""
    r_source: float | None = None
    """Driver output resistance in series with word-line node ``j = 0`` (ohm, >= 0); ``None``
    means one word-line segment (badcrossbar's convention)."""
    r_sense: float | None = None
    """Sense-amplifier input resistance between bit-line node ``i = rows-1`` and the virtual
    ground (ohm, >= 0); ``None`` means one bit-line segment (badcrossbar's convention)."""
    method: Literal["approx", "exact"] = "approx"
    """``"exact"``: ``solve_exact`` (CG or nested dissection in float64, reference-grade, not
    differentiable); ``"approx"``: ``solve_approx`` (first-order model plus
    ``approx_iterations`` CG steps, input dtype, differentiable), for training loops."""
    approx_iterations: int = 0
    """CG steps after the first-order model (0..1000); 0 = the first-order model alone, whose
    cost is one matmul like an ideal MVM."""

    def __post_init__(self) -> None:
        for name in ("r_word_line", "r_bit_line", "r_source", "r_sense"):
            value = getattr(self, name)
            if value is None and name in ("r_source", "r_sense"):
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"IRDropConfig.{name}={value!r}: must be a finite resistance >= 0 ohm")
        if self.method not in ("approx", "exact"):
            raise ValueError(f"IRDropConfig.method={self.method!r}: must be 'approx' or 'exact'")
        check_count("IRDropConfig.approx_iterations", self.approx_iterations, 0, 1000)


class NodalSolution(NamedTuple):
    """Full solution of the crossbar circuit, in the dtype and on the device of the inputs."""

    currents: Tensor
    """(batch, cols) A, into the virtual ground of each bit line."""
    device_currents: Tensor
    """(batch, rows, cols) A, word-line node -> bit-line node through each device."""
    word_line_voltages: Tensor
    """(batch, rows, cols) V."""
    bit_line_voltages: Tensor
    """(batch, rows, cols) V."""
    iterations: int
    """CG iterations used."""
    relative_residual: Tensor
    """(batch,) final ``||residual|| / ||rhs||`` of the scaled system."""


def _resistances(r_word_line: float, r_bit_line: float, r_source: float | None,
                 r_sense: float | None) -> WireResistances:
    r = WireResistances(r_word_line=float(r_word_line), r_bit_line=float(r_bit_line),
                        r_source=float(r_word_line if r_source is None else r_source),
                        r_sense=float(r_bit_line if r_sense is None else r_sense))
    for name in ("r_word_line", "r_bit_line", "r_source", "r_sense"):
        value = getattr(r, name)
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{name}={value!r}: must be a finite resistance >= 0 ohm")
    return r


def _check(g: Tensor, v: Tensor) -> tuple[Tensor, bool]:
    if g.dim() != 2:
        raise ValueError(f"g must be (rows, cols), got shape {tuple(g.shape)}")
    squeeze = v.dim() == 1
    v2 = v.unsqueeze(0) if squeeze else v
    if v2.dim() != 2 or v2.shape[1] != g.shape[0]:
        raise ValueError(f"v must be (batch, rows={g.shape[0]}) or (rows,), got shape {tuple(v.shape)}")
    return v2, squeeze


def solve_nodal(g: Tensor, v: Tensor, r_word_line: float, r_bit_line: float, *,
                r_source: float | None = None, r_sense: float | None = None, tol: float = 1e-12,
                max_iter: int | None = None) -> NodalSolution:
    """Exact solution of the crossbar with wire resistance: currents and every node voltage.

    Solves Kirchhoff's laws for the 2*rows*cols node voltages, reduced to the rows*cols device
    currents (``cg.py``), by conjugate gradients in float64 on the inputs' device,
    to ``tol`` relative residual (default 1e-12: agrees with a direct sparse LU and with
    badcrossbar to ~1e-12 of the largest output current). Batched over input vectors.

    Args:
        g: (rows, cols) device conductances (S, >= 0).
        v: (batch, rows) or (rows,) word-line voltages (V).
        r_word_line, r_bit_line: segment resistances (ohm, >= 0).
        r_source, r_sense: source / sense resistances (ohm); ``None`` = one line segment.
        tol: relative residual at which CG stops (0 < tol < 1).
        max_iter: iteration cap (default ``10 * (rows + cols) + 100``); raises RuntimeError
            when reached before ``tol``.

    Returns:
        A ``NodalSolution`` in the promoted dtype of ``g`` and ``v``.
    """
    v2, squeeze = _check(g, v)
    r = _resistances(r_word_line, r_bit_line, r_source, r_sense)
    if not 0 < tol < 1:
        raise ValueError(f"tol={tol!r}: must be in (0, 1)")
    if bool((g < 0).any()) or not bool(torch.isfinite(g).all()):
        raise ValueError("g must be finite conductances >= 0 S")
    out_dtype = torch.promote_types(g.dtype, v.dtype)
    cap = 10 * (g.shape[0] + g.shape[1]) + 100 if max_iter is None else int(max_iter)
    g64, v64 = g.detach().to(torch.float64), v2.detach().to(torch.float64)
    with torch.no_grad():
        sqrt_g = g64.sqrt()
        y, iterations, rel = conjugate_gradient(sqrt_g, sqrt_g * v64[:, :, None], r, max_iter=cap, tol=tol)
    if bool((rel > tol).any()):
        raise RuntimeError(f"IR-drop CG did not reach tol={tol:g} in {cap} iterations "
                           f"(worst relative residual {float(rel.max()):.2e}); raise max_iter")
    current = y * sqrt_g
    u = v64[:, :, None] - word_line_drop(current, r)
    w = bit_line_rise(current, r)
    out = current.sum(-2)
    if squeeze:
        out, current, u, w = out[0], current[0], u[0], w[0]
    return NodalSolution(out.to(out_dtype), current.to(out_dtype), u.to(out_dtype), w.to(out_dtype),
                         iterations, rel)


def _nested_is_cheaper(rows: int, cols: int, batch: int) -> bool:
    """Cost model in seconds, fitted on square 64..512 arrays with one thread: nested dissection
    ~ 0.8 ms per merge level (Python and per-op overhead) + 5.7e-10 (rows + cols)^3 (dense flops
    and memory traffic of the top levels, padded sizes); CG ~ 4.4e-8 batch * rows * cols *
    sqrt(rows + cols) (its iteration count grows like sqrt(size)). Nested wins from ~2 vectors at
    256 x 256 and ~6 at 64 x 64."""
    n_i, n_j = 1 << (rows - 1).bit_length(), 1 << (cols - 1).bit_length()
    levels = (n_i * n_j).bit_length()
    nested = 8e-4 * levels + 5.7e-10 * (n_i + n_j) ** 3
    return nested < 4.4e-8 * batch * rows * cols * math.sqrt(rows + cols)


def effective_conductance(g: Tensor, r_word_line: float, r_bit_line: float, *,
                          r_source: float | None = None, r_sense: float | None = None) -> Tensor:
    """Exact effective conductances ``G_eff`` (rows, cols) in S: output currents are ``v @ G_eff``.

    The circuit is linear, so one nested-dissection factorisation (``nested.py``) gives
    the exact map for every input vector; a tile can compute it once per weight change and run
    each MVM as a plain matmul. Every resistance must be > 0. Computed in float64 on ``g``'s
    device and returned in ``g``'s dtype.
    """
    if g.dim() != 2:
        raise ValueError(f"g must be (rows, cols), got shape {tuple(g.shape)}")
    if bool((g < 0).any()) or not bool(torch.isfinite(g).all()):
        raise ValueError("g must be finite conductances >= 0 S")
    r = _resistances(r_word_line, r_bit_line, r_source, r_sense)
    with torch.no_grad():
        return nested_effective_conductance(g.detach(), r).to(g.dtype)


def solve_exact(g: Tensor, v: Tensor, r_word_line: float, r_bit_line: float, *,
                r_source: float | None = None, r_sense: float | None = None, tol: float = 1e-12,
                max_iter: int | None = None, method: Literal["auto", "cg", "nested"] = "auto") -> Tensor:
    """Exact bit-line output currents (batch, cols) in A.

    Two exact algorithms, chosen by ``method``: ``"cg"`` (``solve_nodal``: conjugate gradients on
    the device-current form, cost proportional to the batch) and ``"nested"``
    (``effective_conductance``: a direct nested-dissection factorisation whose cost does not
    depend on the batch; needs every resistance > 0). ``"auto"`` picks the cheaper one from a
    cost model: CG for few input vectors, nested dissection for many. Both run on any torch
    device in float64 and agree with badcrossbar to ~1e-12 relative. Other arguments as in
    ``solve_nodal``.
    """
    if method not in ("auto", "cg", "nested"):
        raise ValueError(f"method={method!r}: must be 'auto', 'cg' or 'nested'")
    v2, squeeze = _check(g, v)
    r = _resistances(r_word_line, r_bit_line, r_source, r_sense)
    positive = min(r.r_word_line, r.r_bit_line, r.r_source, r.r_sense) > 0
    if method == "nested" and not positive:
        raise ValueError("method='nested' needs every resistance > 0; use method='cg'")
    if method == "cg" or (method == "auto" and not (
            positive and _nested_is_cheaper(g.shape[0], g.shape[1], v2.shape[0]))):
        return solve_nodal(g, v, r_word_line, r_bit_line, r_source=r_source, r_sense=r_sense,
                           tol=tol, max_iter=max_iter).currents
    g_eff = effective_conductance(g.to(torch.float64), r_word_line, r_bit_line,
                                  r_source=r_source, r_sense=r_sense)
    out = (v2.detach().to(torch.float64) @ g_eff).to(torch.promote_types(g.dtype, v.dtype))
    return out[0] if squeeze else out


def first_order_conductance(g: Tensor, r_word_line: float, r_bit_line: float, *,
                            r_source: float | None = None, r_sense: float | None = None) -> Tensor:
    """Approximate effective conductances ``g / (1 + a)`` (rows, cols) in S, ``I ~ v @ G_eff``.

    The first-order attenuation model of ``cg.first_order_attenuation``: two
    matmuls per weight change, then every MVM is a plain matmul, differentiable in ``g``; the
    cheap choice inside training loops. Errors against the exact solver are in docs/ir_drop.md.
    """
    if g.dim() != 2:
        raise ValueError(f"g must be (rows, cols), got shape {tuple(g.shape)}")
    r = _resistances(r_word_line, r_bit_line, r_source, r_sense)
    return g / (1.0 + first_order_attenuation(g, r))


def solve_approx(g: Tensor, v: Tensor, r_word_line: float, r_bit_line: float, *,
                 r_source: float | None = None, r_sense: float | None = None,
                 iterations: int = 0) -> Tensor:
    """Approximate output currents (batch, cols) in A, for training loops.

    ``iterations = 0``: the first-order model ``v @ first_order_conductance(g, ...)``, a matmul.
    ``iterations = k > 0``: ``k`` conjugate-gradient steps of the exact system in the input
    dtype, started from that model's device currents ``g v / (1 + a)``, with no host
    synchronisation; each step costs 4 cumulative sums and ~10 elementwise passes over
    (batch, rows, cols), i.e. far more than the matmul, so use it where accuracy matters more than
    time. CG minimises the energy-norm error over its Krylov space, so it beats the same number of
    Jacobi / fixed-point sweeps, which diverge once the IR-drop effect exceeds ~1. Runs unchanged
    on CUDA and inside autograd.

    Args:
        g: (rows, cols) conductances (S, >= 0).
        v: (batch, rows) or (rows,) word-line voltages (V).
        r_word_line, r_bit_line, r_source, r_sense: as in ``solve_nodal``.
        iterations: CG steps after the first-order model (0..1000).
    """
    v2, squeeze = _check(g, v)
    r = _resistances(r_word_line, r_bit_line, r_source, r_sense)
    check_count("iterations", iterations, 0, 1000)
    dtype = torch.promote_types(g.dtype, v.dtype)
    g_, v_ = g.to(dtype), v2.to(dtype)
    if r.ideal:
        out = v_ @ g_
    elif iterations == 0:
        out = v_ @ (g_ / (1.0 + first_order_attenuation(g_, r)))
    else:
        sqrt_g = g_.clamp_min(0).sqrt()
        start = (sqrt_g / (1.0 + first_order_attenuation(g_, r))) * v_[:, :, None]
        y, _, _ = conjugate_gradient(sqrt_g, sqrt_g * v_[:, :, None], r, max_iter=iterations,
                                     tol=None, start=start)
        out = (y * sqrt_g).sum(-2)
    return out[0] if squeeze else out


def solve(config: IRDropConfig, g: Tensor, v: Tensor) -> Tensor:
    """Output currents (batch, cols) A for ``config.method``: the entry point a tile calls."""
    if config.method == "exact":
        return solve_exact(g, v, config.r_word_line, config.r_bit_line,
                           r_source=config.r_source, r_sense=config.r_sense)
    return solve_approx(g, v, config.r_word_line, config.r_bit_line, r_source=config.r_source,
                        r_sense=config.r_sense, iterations=config.approx_iterations)
