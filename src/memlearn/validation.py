"""Boundary checks for numeric parameters, shared by every layer: each error names the field and
its allowed range."""

from __future__ import annotations

import math


def _finite(name: str, value: float) -> float:
    if isinstance(value, (bool, str, bytes)):  # float("400") and float(True) would pass silently
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r} (write it without quotes)")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return v


def check_range(name: str, value: float, low: float, high: float) -> None:
    """Raise ValueError unless ``low <= value <= high`` (and finite)."""
    v = _finite(name, value)
    if not (low <= v <= high):
        raise ValueError(f"{name}={value!r} is outside its allowed range [{low}, {high}]")


def check_positive(name: str, value: float) -> None:
    """Raise ValueError unless ``value > 0`` (and finite)."""
    v = _finite(name, value)
    if not v > 0:
        raise ValueError(f"{name}={value!r} must be > 0")


def check_count(name: str, value: float, low: float, high: float) -> None:
    """Raise ValueError unless ``value`` is a whole number with ``low <= value <= high``."""
    check_range(name, value, low, high)
    if float(value) != int(float(value)):
        raise ValueError(f"{name}={value!r} must be a whole number in [{low}, {high}]")


def check_probability(name: str, value: float) -> None:
    check_range(name, value, 0.0, 1.0)


def check_order(low_name: str, low: float, high_name: str, high: float) -> None:
    """Raise ValueError unless ``low < high``."""
    lo, hi = _finite(low_name, low), _finite(high_name, high)
    if not lo < hi:
        raise ValueError(f"{low_name}={low!r} must be smaller than {high_name}={high!r}")
