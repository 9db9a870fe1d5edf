"""The CG solver: the wire-resistance operator in device-current form and conjugate gradients on it;
used by ``solve_nodal``/``solve_exact`` for few input vectors and by ``solve_approx``'s CG steps.

The wire-resistance operator of a crossbar in device-current form, and the CG that inverts it.

Circuit (badcrossbar convention, Joksas & Mehonic, SoftwareX 2020): word line ``i`` is driven at
its ``j = 0`` end through a source resistance, consecutive word-line nodes are joined by
``r_word_line``; bit line ``j`` reaches a virtual ground at its ``i = rows-1`` end through a sense
resistance, consecutive bit-line nodes are joined by ``r_bit_line``. Device ``(i, j)`` carries the
current ``I[i, j] = g[i, j] (u[i, j] - w[i, j])`` from word-line node to bit-line node.

Every wire segment carries a partial sum of device currents (Kirchhoff's current law along the
line), so both line voltages are linear in ``I``::

    u[i, j] = v[i] - r_source * T_i - r_word_line * sum_{k=1..j} sum_{j' >= k} I[i, j']
    w[i, j] = r_sense * B_j + r_bit_line * sum_{k=i..rows-2} sum_{i' <= k} I[i', j]

with ``T_i`` the word-line total and ``B_j`` the bit-line total (the output current). Writing
``u - w = v - K I`` gives the device-current form of the nodal equations,
``(G^-1 + K) I = v``, where ``K`` (the wire-resistance matrix) is symmetric positive semidefinite:
``I . K I = sum over segments of r * (segment current)^2``, the dissipated power. With
``y = G^(-1/2) I`` the system ``(1 + G^(1/2) K G^(1/2)) y = G^(1/2) v`` is SPD with every
eigenvalue >= 1, and stays defined for open devices (``g = 0``). It is solved by conjugate
gradients (Hestenes & Stiefel, J. Res. NBS 49, 1952), vectorised over batch, in O(batch * rows *
cols) per iteration: ``K`` is applied with four cumulative sums, never stored.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True, kw_only=True)
class WireResistances:
    """Per-segment resistances of one crossbar's lines (ohm, each >= 0)."""

    r_word_line: float
    """Resistance between consecutive word-line nodes (ohm)."""
    r_bit_line: float
    """Resistance between consecutive bit-line nodes (ohm)."""
    r_source: float
    """Resistance between the voltage source and word-line node ``j = 0`` (ohm)."""
    r_sense: float
    """Resistance between bit-line node ``i = rows-1`` and the virtual ground (ohm)."""

    @property
    def ideal(self) -> bool:
        return self.r_word_line == 0 and self.r_bit_line == 0 and self.r_source == 0 and self.r_sense == 0


def word_line_drop(current: Tensor, r: WireResistances) -> Tensor:
    """Voltage lost along each word line, ``v[i] - u[i, j]`` (V), for device currents (..., rows, cols) (A)."""
    c = current.cumsum(-1)
    total = c[..., -1:]
    downstream = total - c + current  # sum_{j' >= k} I[i, j']: the current in segment k
    drop = downstream.cumsum(-1).sub_(total).mul_(r.r_word_line)
    return drop.add_(total, alpha=r.r_source)


def bit_line_rise(current: Tensor, r: WireResistances) -> Tensor:
    """Bit-line node voltages ``w[i, j]`` (V) above the virtual ground, for device currents (..., rows, cols)."""
    upstream = current.cumsum(-2)  # sum_{i' <= k} I[i', j]: the current in the segment below node k
    total = upstream[..., -1:, :]
    c = upstream.cumsum(-2)
    below = c[..., -1:, :] - c + upstream  # sum_{k >= i} of segment currents
    rise = below.sub_(total).mul_(r.r_bit_line)
    return rise.add_(total, alpha=r.r_sense)


def wire_operator(current: Tensor, r: WireResistances) -> Tensor:
    """``K I``: the wire-resistance matrix applied to device currents (..., rows, cols), in V."""
    return word_line_drop(current, r).add_(bit_line_rise(current, r))


def first_order_attenuation(g: Tensor, r: WireResistances) -> Tensor:
    """``a`` (rows, cols) of the first-order model ``G_eff ~ g / (1 + a)`` (dimensionless).

    To first order in the wire resistance, the current a device loses is its conductance times the
    voltage the ideal-wire currents of its own word line (kernel ``r_source + r_wl min(j, j')``)
    and its own bit line (kernel ``r_sense + r_bl (rows-1 - max(i, i'))``) drop on the wires:
    ``a = g @ K_wl + K_bl @ g``, two matmuls. ``g (1 - a)`` is the linear term; ``g / (1 + a)``
    has the same first-order term, stays positive, and is far more accurate at large IR drop
    (errors in ``docs/ir_drop.md``). NeuroSim (Chen et al., IEEE TCAD 37, 2018) folds the wire
    resistance on a cell's own path into its series resistance, ``g / (1 + g r_path)``; here
    ``g r_path`` becomes ``a``, which also counts the currents of the other cells sharing the lines.
    """
    rows, cols = g.shape
    j = torch.arange(cols, dtype=g.dtype, device=g.device)
    i = torch.arange(rows, dtype=g.dtype, device=g.device)
    k_wl = r.r_source + r.r_word_line * torch.minimum(j[:, None], j[None, :])
    k_bl = r.r_sense + r.r_bit_line * (rows - 1 - torch.maximum(i[:, None], i[None, :]))
    return g @ k_wl + k_bl @ g


def conjugate_gradient(sqrt_g: Tensor, rhs: Tensor, r: WireResistances, *, max_iter: int,
                       tol: float | None, start: Tensor | None = None) -> tuple[Tensor, int, Tensor]:
    """Solve ``(1 + S K S) y = rhs`` with ``S = diag(sqrt_g)``, one independent CG per batch entry.

    Args:
        sqrt_g: (rows, cols), square roots of the conductances (sqrt(S)).
        rhs: (batch, rows, cols), ``S v`` broadcast along the word lines.
        start: initial ``y`` (batch, rows, cols); ``None`` starts from ``rhs``, the ideal wires.
        max_iter: iteration cap.
        tol: stop when every ``||residual|| <= tol * ||rhs||``; ``None`` runs exactly ``max_iter``
            iterations without a host synchronisation (the fixed-cost approximation).

    Returns:
        ``(y, iterations, relative_residual)`` with ``relative_residual`` of shape (batch,).
    """
    dims = (-2, -1)
    # Start from the ideal-wire solution y = rhs (I = g v): the residual is then O(r), so the
    # first step is the optimally scaled first-order perturbation correction.
    y = rhs.clone() if start is None else start
    res = rhs - y - wire_operator(y * sqrt_g, r) * sqrt_g
    p = res.clone()
    rr = (res * res).sum(dims)
    bb = (rhs * rhs).sum(dims)
    tiny = torch.finfo(rhs.dtype).tiny
    zero = torch.zeros((), dtype=rhs.dtype, device=rhs.device)
    inplace = not torch.is_grad_enabled() or not (rhs.requires_grad or sqrt_g.requires_grad)
    it = 0
    while it < max_iter:
        if tol is not None and bool((rr <= (tol * tol) * bb).all()):
            break
        ap = wire_operator(p * sqrt_g, r) * sqrt_g + p
        pap = (p * ap).sum(dims)
        alpha = torch.where(pap > tiny, rr / pap.clamp_min(tiny), zero)[:, None, None]
        if inplace:
            y.addcmul_(alpha, p)
            res.addcmul_(alpha, ap, value=-1.0)
        else:
            y = y + alpha * p
            res = res - alpha * ap
        rr_new = (res * res).sum(dims)
        beta = torch.where(rr > tiny, rr_new / rr.clamp_min(tiny), zero)[:, None, None]
        p = p.mul_(beta).add_(res) if inplace else res + beta * p
        rr = rr_new
        it += 1
    rel = (rr / bb.clamp_min(tiny)).sqrt()
    return y, it, rel
