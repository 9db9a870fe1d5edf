"""Wire resistance (IR drop) of a crossbar: one package, four solvers and the tile read that uses them.

``solve`` (entry points, solver choice), ``cg`` (conjugate gradients), ``nested`` (nested dissection),
``sparse`` (SuperLU cross-check, tests only), ``tile_read`` (a tile's arrays read through ``solve``).
The package exports ``solve``'s entry points (its ``__all__``).
"""

from memlearn.crossbar.ir_drop.solve import *  # noqa: F403 - the entry points, named once in solve.__all__
from memlearn.crossbar.ir_drop.solve import __all__  # noqa: F401
