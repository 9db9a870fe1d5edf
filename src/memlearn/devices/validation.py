"""Device-specific boundary checks; the generic ones live in ``memlearn.validation``."""

from __future__ import annotations

from memlearn.validation import check_order, check_positive, check_range


def check_bounds(g_min: float, g_max: float, d2d_bounds: float) -> None:
    """The conductance-range checks every response shares: ``0 < g_min < g_max`` and a
    device-to-device spread of the bounds in [0, 0.5]."""
    check_positive("g_min", g_min)
    check_order("g_min", g_min, "g_max", g_max)
    check_range("d2d_bounds", d2d_bounds, 0.0, 0.5)
