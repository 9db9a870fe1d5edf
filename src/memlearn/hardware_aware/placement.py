"""Where the two devices of a differential pair sit: around mid-range, or one of them at g_min.

``mapping.py`` defines the weight <-> conductance arithmetic; this module only chooses, for a
differential pair ``w = s (G+ - G-) / (g_max - g_min)``, which of the many conductance pairs with
the same difference is programmed. It matters for inference: drift and read noise scale with the
conductance, so a zero weight held by two devices at mid-range drifts apart, while one held by
two RESET devices stays near zero.
"""

from __future__ import annotations

import dataclasses

from torch import Tensor

from memlearn.crossbar.mapping import DifferentialMapping

PLACEMENTS = ("mid", "min")
"""``"mid"``: the mapping's own targets, ``G+- = g_mid +- dg / 2`` (best for pulsed training, where up
and down steps balance); ``"min"``: ``G+ = g_min + max(dg, 0)``, ``G- = g_min + max(-dg, 0)``,
the idle device at g_min (RESET) as in PCM inference chips (Joshi et al., Nat. Commun. 2020;
Boybat et al., Nat. Commun. 2018)."""


def check_placement(placement: str, mapping) -> None:
    """Raise ValueError unless ``placement`` is known and applicable to ``mapping``."""
    if placement not in PLACEMENTS:
        raise ValueError(f"pair_placement={placement!r} must be one of {PLACEMENTS}")
    if placement == "min" and not isinstance(mapping, DifferentialMapping):
        raise ValueError(f"pair_placement='min' needs a DifferentialMapping, got {type(mapping).__name__}")


def pair_targets(w_n: Tensor, g_min: float, g_max: float, placement: str, mapping) -> Tensor:
    """Target conductances (in, n_columns) for normalised weights ``w_n`` (out, in) in [-1, 1].

    Both placements give the same ``mapping.normalised`` weights (the pair's difference); the
    gradient flows through ``w_n`` (the clamp aside).
    """
    if placement == "mid":
        return mapping.target_conductances(w_n * mapping.w_max, g_min, g_max)
    # The arithmetic lives in the mapping (its "min" baseline); this only picks it.
    return dataclasses.replace(mapping, baseline="min").targets(w_n, g_min, g_max)
