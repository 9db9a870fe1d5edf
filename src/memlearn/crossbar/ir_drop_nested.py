"""Exact crossbar transfer matrix by nested dissection: recursive Schur complements onto subdomain edges.

The crossbar (badcrossbar convention, Joksas & Mehonic, SoftwareX 2020) is cut into 2 x 2-cell
leaves. Each subdomain is represented by the Schur complement of its nodal conductance matrix
onto its edge nodes, in the order [left word-line nodes, right word-line nodes, top bit-line
nodes, bottom bit-line nodes]. Two neighbours merge by joining them with the wire segments
between them and eliminating the now-interior shared edge (a batched Cholesky solve over all
pairs of a level), alternating vertical and horizontal cuts: the geometric nested dissection of
George (SIAM J. Numer. Anal. 10, 1973), here as a batched "merge" recursion like the hierarchical
Poincare-Steklov scheme (Gillman & Martinsson, SIAM J. Sci. Comput. 36, 2014). Cost
~O((rows + cols)^3) dense flops instead of rows * cols^3 for row-by-row elimination.

The last merge also eliminates the open edges, so the driven left edge (through ``r_source``) and
the sensed bottom edge (through ``r_sense``) remain: a (rows + cols) square system whose inverse gives the exact
effective-conductance matrix ``G_eff`` (rows, cols) with ``I = v @ G_eff`` for every input ``v``.
Arrays are padded to powers of two with open-circuit cells (g = 0) beyond the open ends of the
lines (above row 0, right of the last column), which carry no current and leave the solution
unchanged.
"""

from __future__ import annotations

import torch
from torch import Tensor

from memlearn.crossbar.ir_drop_operator import WireResistances


def _pow2(n: int) -> int:
    return max(2, 1 << (n - 1).bit_length())


def _stamp(s: Tensor, a: int, b: int, c: Tensor | float) -> None:
    """Add a conductance ``c`` between local nodes ``a`` and ``b`` of every matrix in the batch."""
    s[..., a, a] += c
    s[..., b, b] += c
    s[..., a, b] -= c
    s[..., b, a] -= c


def _leaves(g: Tensor, g_wl: float, g_bl: float) -> Tensor:
    """Edge matrices of all 2 x 2-cell leaves, shape (rows/2, cols/2, 8, 8)."""
    rows, cols = g.shape
    cell = g.reshape(rows // 2, 2, cols // 2, 2).permute(0, 2, 1, 3)  # (I, J, i, j)
    s = torch.zeros(rows // 2, cols // 2, 8, 8, dtype=g.dtype, device=g.device)
    u_pos = [[0, 2], [1, 3]]  # U[i, j]: left edge if j == 0 (position i), right edge (2 + i)
    w_pos = [[4, 5], [6, 7]]  # W[i, j]: top edge if i == 0 (4 + j), bottom edge (6 + j)
    for i in range(2):
        for j in range(2):
            _stamp(s, u_pos[i][j], w_pos[i][j], cell[:, :, i, j])
        _stamp(s, u_pos[i][0], u_pos[i][1], g_wl)
        _stamp(s, w_pos[0][i], w_pos[1][i], g_bl)
    return s


def _assemble(parts: tuple[Tensor, Tensor], rows: list[tuple[int, int, int]],
              cols: list[tuple[int, int, int]]) -> Tensor:
    """Block matrix whose (row, col) segment pair is ``parts[d][..., rows, cols]`` when both
    segments ``(d, start, length)`` belong to the same subdomain ``d``, else zero.

    Slice copies instead of fancy-index gathers: the gathers cost 3-5x the linear algebra.
    """
    first = parts[0]
    out = first.new_zeros(*first.shape[:-2], sum(n for _, _, n in rows), sum(n for _, _, n in cols))
    r0 = 0
    for d_r, s_r, n_r in rows:
        c0 = 0
        for d_c, s_c, n_c in cols:
            if d_r == d_c:
                out[..., r0:r0 + n_r, c0:c0 + n_c] = parts[d_r][..., s_r:s_r + n_r, s_c:s_c + n_c]
            c0 += n_c
        r0 += n_r
    return out


def _merge(s: Tensor, h: int, w: int, horizontal: bool, g_wire: float, *, last: bool = False) -> Tensor:
    """Merge neighbouring subdomains (pairs along columns if ``horizontal``, else along rows).

    With ``last`` the pair is the whole array: its open edges (right word-line ends, top bit-line
    ends) are eliminated together with the shared edge, leaving [left (driven), bottom (sensed)].
    """
    if h + w <= 4:
        return _merge_gather(s, h, w, horizontal, g_wire, last=last)
    parts = (s[:, 0::2], s[:, 1::2]) if horizontal else (s[0::2], s[1::2])
    left, right, top, bottom = (lambda d: (d, 0, h)), (lambda d: (d, h, h)), \
        (lambda d: (d, 2 * h, w)), (lambda d: (d, 2 * h + w, w))
    if horizontal:  # first.right meets second.left through word-line segments
        shared, n = [right(0), left(1)], h
        keep = [left(0), right(1), top(0), top(1), bottom(0), bottom(1)]
        if last:
            keep, opened = [left(0), bottom(0), bottom(1)], [right(1), top(0), top(1)]
    else:  # first.bottom meets second.top through bit-line segments
        shared, n = [bottom(0), top(1)], w
        keep = [left(0), left(1), right(0), right(1), top(0), bottom(1)]
        if last:
            keep, opened = [left(0), left(1), bottom(1)], [right(0), right(1), top(0)]
    drop = shared + (opened if last else [])
    a_dd = _assemble(parts, drop, drop)
    diag = torch.diagonal(a_dd, dim1=-2, dim2=-1)
    diag[..., : 2 * n] += g_wire
    torch.diagonal(a_dd[..., :n, n:2 * n], dim1=-2, dim2=-1).sub_(g_wire)
    torch.diagonal(a_dd[..., n:2 * n, :n], dim1=-2, dim2=-1).sub_(g_wire)
    x = torch.linalg.solve_triangular(torch.linalg.cholesky(a_dd), _assemble(parts, drop, keep), upper=False)
    return _assemble(parts, keep, keep).sub_(x.transpose(-1, -2) @ x)


def _merge_gather(s: Tensor, h: int, w: int, horizontal: bool, g_wire: float, *, last: bool = False) -> Tensor:
    """``_merge`` by index gathers: faster than slice copies for the many tiny finest levels."""
    k = 2 * h + 2 * w
    first, second = (s[:, 0::2], s[:, 1::2]) if horizontal else (s[0::2], s[1::2])
    big = torch.zeros(*first.shape[:2], 2 * k, 2 * k, dtype=s.dtype, device=s.device)
    big[..., :k, :k] = first
    big[..., k:, k:] = second
    idx = lambda start, n: torch.arange(start, start + n, device=s.device)  # noqa: E731
    if horizontal:  # first.right (h) meets second.left (h) through word-line segments
        a, b = idx(h, h), idx(k, h)
        left, right = [idx(0, h)], [idx(k + h, h)]
        top, bottom = [idx(2 * h, w), idx(k + 2 * h, w)], [idx(2 * h + w, w), idx(k + 2 * h + w, w)]
    else:  # first.bottom (w) meets second.top (w) through bit-line segments
        a, b = idx(2 * h + w, w), idx(k + 2 * h, w)
        left, right = [idx(0, h), idx(k, h)], [idx(h, h), idx(k + h, h)]
        top, bottom = [idx(2 * h, w)], [idx(k + 2 * h + w, w)]
    n, a0, b0 = len(a), int(a[0]), int(b[0])
    torch.diagonal(big[..., a0:a0 + n, a0:a0 + n], dim1=-2, dim2=-1).add_(g_wire)
    torch.diagonal(big[..., b0:b0 + n, b0:b0 + n], dim1=-2, dim2=-1).add_(g_wire)
    torch.diagonal(big[..., a0:a0 + n, b0:b0 + n], dim1=-2, dim2=-1).sub_(g_wire)
    torch.diagonal(big[..., b0:b0 + n, a0:a0 + n], dim1=-2, dim2=-1).sub_(g_wire)
    if last:
        return _eliminate(big, torch.cat(left + bottom), torch.cat([a, b] + right + top))
    return _eliminate(big, torch.cat(left + right + top + bottom), torch.cat([a, b]))


def _eliminate(a: Tensor, keep: Tensor, drop: Tensor) -> Tensor:
    """Schur complement of ``a`` (..., n, n) onto ``keep``, eliminating ``drop`` (SPD block)."""
    a_kk = a[..., keep[:, None], keep]
    a_dk = a[..., drop[:, None], keep]
    chol = torch.linalg.cholesky(a[..., drop[:, None], drop])
    x = torch.linalg.solve_triangular(chol, a_dk, upper=False)
    return a_kk - x.transpose(-1, -2) @ x


def effective_conductance(g: Tensor, r: WireResistances) -> Tensor:
    """Exact ``G_eff`` (rows, cols) in S such that the output currents are ``v @ G_eff``.

    Args:
        g: (rows, cols) conductances (S, >= 0), any float dtype and device; computed in float64.
        r: line resistances, every one > 0.
    """
    for name in ("r_word_line", "r_bit_line", "r_source", "r_sense"):
        if not getattr(r, name) > 0:
            raise ValueError(f"{name}={getattr(r, name)!r} must be > 0 for nested dissection")
    rows, cols = g.shape
    big_r, big_c = _pow2(rows), _pow2(cols)
    padded = torch.zeros(big_r, big_c, dtype=torch.float64, device=g.device)
    padded[big_r - rows:, :cols] = g.to(torch.float64)
    g_wl, g_bl = 1.0 / r.r_word_line, 1.0 / r.r_bit_line
    s = _leaves(padded, g_wl, g_bl)
    h = w = 2
    if s.shape[0] == 1 and s.shape[1] == 1:  # a single 2 x 2 leaf: drop its open edges directly
        edges = torch.arange(8, device=g.device)
        ports = _eliminate(s[0, 0], edges[[0, 1, 6, 7]], edges[[2, 3, 4, 5]])
    while s.shape[0] > 1 or s.shape[1] > 1:
        horizontal = s.shape[1] > 1 and (w <= h or s.shape[0] == 1)
        last = s.shape[0] * s.shape[1] == 2
        s = _merge(s, h, w, horizontal, g_wl if horizontal else g_bl, last=last)
        if horizontal:
            w *= 2
        else:
            h *= 2
        if last:
            ports = s[0, 0]
    # ports [u_left; w_bottom] = [v / r_source; 0]  =>  w_bottom = (ports^-1)[bottom, left] v / r_source
    ports = ports.clone()
    diag = torch.arange(h + w, device=g.device)
    ports[diag[:h], diag[:h]] += 1.0 / r.r_source
    ports[diag[h:], diag[h:]] += 1.0 / r.r_sense
    rhs = torch.zeros(h + w, h, dtype=torch.float64, device=g.device)
    rhs[diag[:h], diag[:h]] = 1.0 / r.r_source
    x = torch.cholesky_solve(rhs, torch.linalg.cholesky(ports))  # (h + w, h): column = one driven row
    transfer = x[h:, :].T / r.r_sense  # (padded rows, padded cols)
    return transfer[big_r - rows:, :cols]
