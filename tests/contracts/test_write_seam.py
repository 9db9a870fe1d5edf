"""The write seam: outside the crossbar nothing assigns conductances, and rules never write the tile."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch

import memlearn

SRC = Path(memlearn.__file__).resolve().parent
CROSSBAR = SRC / "crossbar" / "crossbar.py"
"""The one module allowed to write ``g`` (``apply_pulses``, ``apply_pulse_sequence``, ``set_conductances``)."""


def _is_g(node: ast.AST) -> bool:
    """``<anything>.g`` or ``<anything>.g[...]``."""
    if isinstance(node, ast.Subscript):
        node = node.value
    return isinstance(node, ast.Attribute) and node.attr == "g"


def g_writes(tree: ast.AST) -> list[int]:
    """Line numbers where ``tree`` writes a ``.g`` attribute: assignment (plain, augmented,
    annotated, to an index or slice), an in-place tensor method on it (``copy_``, ``add_``, any
    name ending in ``_``), or a write through ``.g.data``."""
    lines = []
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for t in targets:
            for sub in ast.walk(t) if isinstance(t, (ast.Tuple, ast.List)) else [t]:
                if _is_g(sub) or (isinstance(sub, ast.Attribute) and sub.attr == "data" and _is_g(sub.value)):
                    lines.append(node.lineno)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr.endswith("_"):
            receiver = node.func.value
            if isinstance(receiver, ast.Attribute) and receiver.attr == "data":
                receiver = receiver.value
            if _is_g(receiver):
                lines.append(node.lineno)
    return sorted(set(lines))


def test_the_scan_finds_every_kind_of_write():
    code = ("a.g = x\na.g[0] = 1\na.g += 1\nb.array.g.copy_(y)\nc.g.data.zero_()\nd.g[:, 1].add_(2)\n"
            "a.g, b = x, y\nz = a.g.clone()\nw = a.g + 1\na.g.sum()\n")
    assert g_writes(ast.parse(code)) == [1, 2, 3, 4, 5, 6, 7]


def test_no_module_outside_the_crossbar_assigns_conductances():
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path == CROSSBAR:
            continue
        for line in g_writes(ast.parse(path.read_text(), filename=str(path))):
            offenders.append(f"{path.relative_to(SRC)}:{line}")
    assert not offenders, ("conductances written outside crossbar/crossbar.py (use Crossbar.set_conductances "
                           f"or pulses): {offenders}")
    assert g_writes(ast.parse(CROSSBAR.read_text()))  # the scan does see the crossbar's own writes


def _rules():
    from memlearn.continual import Consolidation, SparseRewrite
    from memlearn.rules import (ClipError, DeterministicPulse, Manhattan, MixedPrecision, StochasticPulse, TikiTaka,
                                chain)

    return {
        "deterministic": DeterministicPulse(),
        "manhattan": Manhattan(),
        "mixed_precision": MixedPrecision(),
        "mixed_precision_read_back": MixedPrecision(read_back=True),
        "stochastic": StochasticPulse(),
        "stochastic_per_sample": StochasticPulse(per_sample=True),
        "tiki_taka": TikiTaka(symmetry_cycles=2, transfer_every=1),
        "chain_si": chain(ClipError(max_abs=1.0), StochasticPulse(), Consolidation(importance="si")),
        "chain_sparse": chain(DeterministicPulse(), SparseRewrite(fraction=0.5)),
    }


@pytest.mark.parametrize("name", list(_rules()))
def test_rules_return_pulses_and_leave_the_tile_alone(name):
    from memlearn.nn.tile import AnalogTile
    from memlearn.rules import Pulses, UpdateRequest, apply_update

    rule = _rules()[name]
    tile = AnalogTile(6, 4, seed=0)
    g = torch.Generator().manual_seed(1)
    request = UpdateRequest(torch.rand(3, 6, generator=g), torch.randn(3, 4, generator=g), 0.5)
    state = rule.init(tile)
    before = (tile.array.g.clone(), tile.array.n_writes.clone())
    pulses, _ = rule.update(request, tile, state, tile.generator)
    assert isinstance(pulses, Pulses)
    assert torch.equal(tile.array.g, before[0]) and torch.equal(tile.array.n_writes, before[1])
    # the same request through the driver does write (or, for Tiki-Taka's first step, writes A)
    tile2 = AnalogTile(6, 4, seed=0)
    state2 = apply_update(rule, request, tile2, rule.init(tile2), tile2.generator)
    arrays = [tile2.array] + rule.arrays(state2)
    assert sum(int(a.n_writes.sum()) for a in arrays) > 0
