"""The direct sparse (SuperLU) solver of the nodal system: an independent cross-check of the CG
solver, used by the tests only (never on a tile's read path).

Direct sparse solve of the 2*rows*cols crossbar node-voltage system (modified nodal analysis).

The textbook formulation, kept as an independent cross-check of the conjugate-gradient solver in
``cg.py`` (different unknowns, different algorithm). Same circuit and
convention as badcrossbar (Joksas & Mehonic, SoftwareX 2020): node ``u[i, j]`` on word line ``i``,
node ``w[i, j]`` on bit line ``j``; Kirchhoff's current law at every node gives the symmetric
positive definite system ``A x = b`` with ``x = [u.ravel(), w.ravel()]``. ``A`` is built from index
arrays in one ``coo -> csc`` call and factorised once by SuperLU (Li, ACM TOMS 31, 2005) with a
minimum-degree ordering of ``A + A^T``; all input vectors are solved against that one factor.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from memlearn.crossbar.ir_drop.cg import WireResistances


def nodal_matrix(g: np.ndarray, r: WireResistances) -> sp.csc_matrix:
    """The (2*rows*cols)^2 conductance matrix of the crossbar; ``g`` (rows, cols) in S, every r > 0."""
    rows, cols = g.shape
    n_nodes = rows * cols
    g_wl, g_bl = 1.0 / r.r_word_line, 1.0 / r.r_bit_line
    u = np.arange(n_nodes).reshape(rows, cols)
    w = u + n_nodes
    diag_u = g + g_wl * (np.arange(cols) < cols - 1)[None, :]
    diag_u[:, 0] += 1.0 / r.r_source
    diag_u[:, 1:] += g_wl
    diag_w = g + g_bl * (np.arange(rows) > 0)[:, None]
    diag_w[-1, :] += 1.0 / r.r_sense
    diag_w[:-1, :] += g_bl
    n_wl, n_bl = rows * (cols - 1), (rows - 1) * cols
    i = np.concatenate([u.ravel(), w.ravel(), u[:, :-1].ravel(), u[:, 1:].ravel(),
                        w[:-1].ravel(), w[1:].ravel(), u.ravel(), w.ravel()])
    j = np.concatenate([u.ravel(), w.ravel(), u[:, 1:].ravel(), u[:, :-1].ravel(),
                        w[1:].ravel(), w[:-1].ravel(), w.ravel(), u.ravel()])
    a = np.concatenate([diag_u.ravel(), diag_w.ravel(), np.full(2 * n_wl, -g_wl),
                        np.full(2 * n_bl, -g_bl), -g.ravel(), -g.ravel()])
    return sp.csc_matrix((a, (i, j)), shape=(2 * n_nodes, 2 * n_nodes))


def solve_nodal_sparse(g: np.ndarray, v: np.ndarray, r: WireResistances
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Node voltages and output currents by one sparse LU factorisation.

    Args:
        g: (rows, cols) conductances (S), float64.
        v: (batch, rows) applied voltages (V).
        r: the line resistances; every one must be > 0 (a zero resistance merges nodes, which this
            formulation cannot express; the CG solver handles it).

    Returns:
        ``(currents (batch, cols) A, u (batch, rows, cols) V, w (batch, rows, cols) V)``.
    """
    for name in ("r_word_line", "r_bit_line", "r_source", "r_sense"):
        if not getattr(r, name) > 0:
            raise ValueError(f"{name}={getattr(r, name)!r} must be > 0 for the sparse nodal solver")
    rows, cols = g.shape
    batch = v.shape[0]
    lu = spla.splu(nodal_matrix(g, r), permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                   options={"SymmetricMode": True})
    b = np.zeros((2 * rows * cols, batch))
    b[np.arange(rows) * cols, :] = v.T / r.r_source
    x = lu.solve(b)
    u = x[: rows * cols].T.reshape(batch, rows, cols)
    w = x[rows * cols:].T.reshape(batch, rows, cols)
    return w[:, -1, :] / r.r_sense, u, w
