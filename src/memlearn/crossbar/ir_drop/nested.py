"""The nested-dissection solver: an exact transfer matrix whose cost does not grow with the batch;
``solve_exact`` uses it for many input vectors when every resistance is > 0.

Exact crossbar transfer matrix by nested dissection: recursive Schur complements onto subdomain edges.

The crossbar (badcrossbar convention, Joksas & Mehonic, SoftwareX 2020) is split into cells; cell
``(i, j)`` owns its device (word-line node ``u[i, j]`` to bit-line node ``w[i, j]``), the word-line
segment to its left (``u[i, j-1]`` to ``u[i, j]``; the source resistance when ``j = 0``, whose
left node is the driven source) and the bit-line segment below it (``w[i, j]`` to ``w[i+1, j]``;
the sense resistance when ``i = rows-1``, whose lower node is the virtual ground). A block of cells
is represented by the Schur complement of its nodal conductance matrix onto its edge nodes, in the
order [left word-line nodes, right word-line nodes, top bit-line nodes, bottom bit-line nodes].
Two neighbouring blocks share one edge (the right nodes of the first are the left nodes of the
second, or the bottom nodes of the first the top nodes of the second): merging them adds their
matrices and eliminates that shared edge, alternating vertical and horizontal cuts. This is the
geometric nested dissection of George (SIAM J. Numer. Anal. 10, 1973) written as a batched
"merge" recursion (substructuring; cf. Gillman & Martinsson, SIAM J. Sci. Comput. 36, 2014):
~O((rows + cols)^3) dense flops instead of rows * cols^3 for row-by-row elimination.

Two numerical layouts. The fine levels (shared edges of at most ``_SMALL_EDGE`` nodes: many tiny
matrices) keep the batch last, ``(k, k, *grid)``, and eliminate node by node with one vectorised
rank-1 update each; batched LAPACK calls on 4 x 4 .. 32 x 32 matrices would be bound by per-matrix
overhead. The coarse levels keep the batch first and use batched Cholesky, triangular solve and
matmul. At the switch, blocks on the open top edge (bit-line ends) and the open right edge
(word-line ends) eliminate those nodes, which carry no current out of the array; from then on
these blocks are kept in separate groups (top row, right column, top-right corner) with smaller
matrices, which makes the largest, last merges several times cheaper.

What remains at the end is the whole array's Schur complement onto the driven source nodes
(potentials ``v``) and the grounded sense nodes (potential 0). The current it injects at a ground
node is ``S[ground, source] v``, so the effective conductance is ``G_eff = -S[source, ground]``
(rows, cols), with ``I = v @ G_eff`` for every input vector: no final solve. Arrays are padded to
powers of two with open-circuit cells (g = 0) beyond the open ends of the lines (above row 0, right
of the last column), which carry no current and leave the solution unchanged.
"""

from __future__ import annotations

import torch
from torch import Tensor

from memlearn.crossbar.ir_drop.cg import WireResistances

_SMALL_EDGE = 4
"""Largest shared edge eliminated node by node in the batch-last layout (fitted at 64..512, one
thread: 4 and 8 are within noise of each other, 2 ~10% and 16 ~50-100% slower overall)."""

_LEFT, _RIGHT, _TOP, _BOTTOM = range(4)
Sides = tuple[int, int, int, int]
"""Number of edge nodes on the (left, right, top, bottom) side of a block; 0 = eliminated."""
Segment = tuple[int, int, int]
"""(which block of a merged pair, first local index, length) of one side."""


def _pow2(n: int) -> int:
    return 1 << (n - 1).bit_length()


def _segment(block: int, sides: Sides, side: int) -> Segment:
    return block, sum(sides[:side]), sides[side]


def _merge_plan(sa: Sides, sb: Sides, horizontal: bool) -> tuple[Segment, Segment, list[Segment], Sides]:
    """Shared edge of blocks 0 and 1, the edges kept (in the merged block's order) and its sides."""
    seg = lambda block, side: _segment(block, (sa, sb)[block], side)  # noqa: E731
    if horizontal:  # block 0's right edge is block 1's left edge
        shared_a, shared_b = seg(0, _RIGHT), seg(1, _LEFT)
        keep = [seg(0, _LEFT), seg(1, _RIGHT), seg(0, _TOP), seg(1, _TOP), seg(0, _BOTTOM), seg(1, _BOTTOM)]
        sides = (sa[_LEFT], sb[_RIGHT], sa[_TOP] + sb[_TOP], sa[_BOTTOM] + sb[_BOTTOM])
    else:  # block 0 sits above block 1: its bottom edge is block 1's top edge
        shared_a, shared_b = seg(0, _BOTTOM), seg(1, _TOP)
        keep = [seg(0, _LEFT), seg(1, _LEFT), seg(0, _RIGHT), seg(1, _RIGHT), seg(0, _TOP), seg(1, _BOTTOM)]
        sides = (sa[_LEFT] + sb[_LEFT], sa[_RIGHT] + sb[_RIGHT], sa[_TOP], sb[_BOTTOM])
    return shared_a, shared_b, [s for s in keep if s[2]], sides


def _add_blocks(out: Tensor, parts: tuple[Tensor, Tensor], rows: list[Segment], cols: list[Segment],
                *, batch_last: bool = False) -> None:
    """``out[r, c] += parts[d][segment r, segment c]`` for every pair of segments of the same block
    ``d``; the matrix axes are the first two (``batch_last``) or the last two.

    Slice copies rather than one index gather: the gathers cost 3-5x the linear algebra.
    """
    r0 = 0
    for d_r, s_r, n_r in rows:
        c0 = 0
        for d_c, s_c, n_c in cols:
            if d_r == d_c:
                src = parts[d_r]
                if batch_last:
                    out[r0:r0 + n_r, c0:c0 + n_c] += src[s_r:s_r + n_r, s_c:s_c + n_c]
                else:
                    out[..., r0:r0 + n_r, c0:c0 + n_c] += src[..., s_r:s_r + n_r, s_c:s_c + n_c]
            c0 += n_c
        r0 += n_r


def _merge_small(a: Tensor, sa: Sides, b: Tensor, sb: Sides, horizontal: bool) -> tuple[Tensor, Sides]:
    """Merge pairs in the batch-last layout ``(k, k, *batch)``: assemble [shared; kept] and
    eliminate the shared nodes one at a time (Gaussian elimination without pivoting, stable for
    SPD matrices)."""
    shared_a, shared_b, keep, sides = _merge_plan(sa, sb, horizontal)
    n = shared_a[2]
    size = n + sum(s[2] for s in keep)
    m = a.new_zeros(size, size, *a.shape[2:])
    _add_blocks(m, (a, b), [shared_a] + keep, [shared_a] + keep, batch_last=True)
    _add_blocks(m[:n], (a, b), [shared_b], [shared_b] + keep, batch_last=True)
    _add_blocks(m[n:, :n], (a, b), keep, [shared_b], batch_last=True)
    for p in range(n):
        col = m[p + 1:, p]
        m[p + 1:, p + 1:].addcmul_(col[:, None], col[None, :] / m[p, p], value=-1.0)
    return m[n:, n:], sides


def _merge(a: Tensor, sa: Sides, b: Tensor, sb: Sides, horizontal: bool) -> tuple[Tensor, Sides]:
    """Merge pairs in the batch-first layout ``(*batch, k, k)`` with batched Cholesky."""
    shared_a, shared_b, keep, sides = _merge_plan(sa, sb, horizontal)
    (_, i_a, n), (_, i_b, _) = shared_a, shared_b
    a_dd = a[..., i_a:i_a + n, i_a:i_a + n] + b[..., i_b:i_b + n, i_b:i_b + n]
    a_dk = a.new_zeros(*a.shape[:-2], n, sum(s[2] for s in keep))
    _add_blocks(a_dk, (a, b), [shared_a], keep)
    _add_blocks(a_dk, (a, b), [shared_b], keep)
    x = torch.linalg.solve_triangular(torch.linalg.cholesky(a_dd), a_dk, upper=False)
    out = (x.mT @ x).neg_()
    _add_blocks(out, (a, b), keep, keep)
    return out, sides


def _drop_sides(s: Tensor, sides: Sides, drop: tuple[int, ...]) -> tuple[Tensor, Sides]:
    """Schur complement of batch-first ``s`` eliminating whole ``drop`` sides (open line ends)."""
    index = lambda which: torch.cat([torch.arange(sum(sides[:k]), sum(sides[:k + 1]), device=s.device)  # noqa: E731
                                     for k in range(4) if which(k)])
    keep, gone = index(lambda k: k not in drop), index(lambda k: k in drop)
    x = torch.linalg.solve_triangular(torch.linalg.cholesky(s[..., gone[:, None], gone]),
                                      s[..., gone[:, None], keep], upper=False)
    out = s[..., keep[:, None], keep] - x.mT @ x
    return out, tuple(0 if k in drop else n for k, n in enumerate(sides))


def _leaves(g: Tensor, r: WireResistances) -> Tensor:
    """Edge matrices of all single cells, batch-last ``(4, 4, rows, cols)``, sides (1, 1, 1, 1)."""
    rows, cols = g.shape
    g_left = torch.full((1, cols), 1.0 / r.r_word_line, dtype=g.dtype, device=g.device)
    g_left[0, 0] = 1.0 / r.r_source
    g_down = torch.full((rows, 1), 1.0 / r.r_bit_line, dtype=g.dtype, device=g.device)
    g_down[-1, 0] = 1.0 / r.r_sense
    s = g.new_zeros(4, 4, rows, cols)
    for a, b, c in ((_LEFT, _RIGHT, g_left), (_RIGHT, _TOP, g), (_TOP, _BOTTOM, g_down)):
        s[a, a] += c
        s[b, b] += c
        s[a, b] -= c
        s[b, a] -= c
    return s


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
    n_i, n_j = _pow2(rows), _pow2(cols)
    padded = torch.zeros(n_i, n_j, dtype=torch.float64, device=g.device)
    padded[n_i - rows:, :cols] = g.to(torch.float64)
    s, sides = _leaves(padded, r), (1, 1, 1, 1)
    h = w = 1  # cells per block

    def horizontal_next() -> bool:
        return n_j > 1 and (w <= h or n_i == 1)

    while (n_i > 1 or n_j > 1) and (h if horizontal_next() else w) <= _SMALL_EDGE:
        if horizontal_next():
            s, sides = _merge_small(s[..., 0::2], sides, s[..., 1::2], sides, True)
            n_j, w = n_j // 2, 2 * w
        else:
            s, sides = _merge_small(s[..., 0::2, :], sides, s[..., 1::2, :], sides, False)
            n_i, h = n_i // 2, 2 * h
    s = s.permute(2, 3, 0, 1)
    # groups by position: interior, top row (no top edge), right column (no right edge), corner
    groups: dict[str, tuple[Tensor, Sides] | None] = {
        "interior": (s[1:, :-1], sides) if n_i > 1 and n_j > 1 else None,
        "top": _drop_sides(s[:1, :-1], sides, (_TOP,)) if n_j > 1 else None,
        "right": _drop_sides(s[1:, -1:], sides, (_RIGHT,)) if n_i > 1 else None,
        "corner": _drop_sides(s[:1, -1:], sides, (_RIGHT, _TOP)),
    }
    while n_i > 1 or n_j > 1:
        horizontal = horizontal_next()
        groups = _merge_groups(groups, n_i, n_j, horizontal)
        if horizontal:
            n_j, w = n_j // 2, 2 * w
        else:
            n_i, h = n_i // 2, 2 * h
    corner, sides = groups["corner"]  # type: ignore[misc]
    n_src = sides[_LEFT]
    return corner[0, 0, :n_src, n_src:].neg()[n_src - rows:, :cols]


def _merge_groups(groups: dict[str, tuple[Tensor, Sides] | None], n_i: int, n_j: int,
                  horizontal: bool) -> dict[str, tuple[Tensor, Sides] | None]:
    """One level of merges over the four position groups of an ``n_i x n_j`` grid of blocks.

    The interior group holds grid rows 1.. and columns ..n_j-2, the top group row 0 (columns
    ..n_j-2), the right group column n_j-1 (rows 1..), the corner block (0, n_j-1).
    """
    def pick(name: str, *index: slice) -> tuple[Tensor, Sides]:
        t, sides = groups[name]  # type: ignore[misc]
        return t[index], sides

    def merge(first: tuple[Tensor, Sides], second: tuple[Tensor, Sides]) -> tuple[Tensor, Sides]:
        return _merge(first[0], first[1], second[0], second[1], horizontal)

    every = slice(None)
    if horizontal:  # pair columns (2J, 2J+1)
        evens, odds, last = slice(0, n_j - 2, 2), slice(1, n_j - 2, 2), slice(n_j - 2, n_j - 1)
        return {
            "interior": merge(pick("interior", every, evens), pick("interior", every, odds))
            if n_i > 1 and n_j > 2 else None,
            "right": merge(pick("interior", every, last), pick("right")) if n_i > 1 else None,
            "top": merge(pick("top", every, evens), pick("top", every, odds)) if n_j > 2 else None,
            "corner": merge(pick("top", every, last), pick("corner")),
        }
    # pair rows (2I, 2I+1); the interior group starts at grid row 1
    upper, lower = slice(1, None, 2), slice(2, None, 2)
    return {
        "interior": merge(pick("interior", upper), pick("interior", lower)) if n_j > 1 and n_i > 2 else None,
        "top": merge(pick("top"), pick("interior", slice(0, 1))) if n_j > 1 else None,
        "right": merge(pick("right", upper), pick("right", lower)) if n_i > 2 else None,
        "corner": merge(pick("corner"), pick("right", slice(0, 1))),
    }
