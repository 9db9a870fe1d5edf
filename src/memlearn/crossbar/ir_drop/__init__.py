"""Wire resistance (IR drop) of a crossbar: one package, four solvers and the tile read that uses them.

``solve`` (entry points, solver choice), ``cg`` (conjugate gradients), ``nested`` (nested dissection),
``sparse`` (SuperLU cross-check, tests only), ``tile_read`` (a tile's arrays read through ``solve``).
"""

from memlearn.crossbar.ir_drop.solve import (
    IRDropConfig,
    NodalSolution,
    effective_conductance,
    first_order_conductance,
    solve,
    solve_approx,
    solve_exact,
    solve_nodal,
)

__all__ = ["IRDropConfig", "NodalSolution", "effective_conductance", "first_order_conductance",
           "solve", "solve_approx", "solve_exact", "solve_nodal"]
