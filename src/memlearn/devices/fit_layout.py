"""A lab's own pulse-train CSV layout -> memlearn's columns ``device, cycle, pulse, direction, conductance``.

A :class:`Layout` names the lab's columns and the conductance unit. It comes from command-line
options or from a small TOML (a ``[columns]`` table: ``device``, ``cycle``, ``pulse``, ``direction``,
``conductance``, ``unit``). Without one, the standard names are used, with two common variants
recognised: a ``polarity`` column (``+1``/``-1`` or names) for ``direction``, and a conductance
column whose name carries its unit (``conductance_uS``, ``G_nS``, ``conductance (mS)``).
Every cell is checked: a non-numeric ``cycle``, ``pulse`` or conductance is an error naming the
column, the row and the value; duplicated rows are dropped with a warning.
"""

from __future__ import annotations

import re
import tomllib
import warnings
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd

from memlearn import units

STANDARD = ("device", "cycle", "pulse", "direction", "conductance")
"""memlearn's column names (``docs/devices.md``)."""
DIRECTIONS = {"ltp": 1, "+": 1, "+1": 1, "1": 1, "1.0": 1, "+1.0": 1, "up": 1, "set": 1, "potentiation": 1, "pot": 1,
              "ltd": -1, "-": -1, "-1": -1, "-1.0": -1, "down": -1, "reset": -1, "depression": -1, "dep": -1}
"""Accepted direction/polarity values (case-insensitive) -> pulse sign."""
_UNIT_SUFFIX = re.compile(r"^(?P<name>.*?)[\s_\-\[(]*(?P<unit>S|mS|uS|µS|nS|pS)[\])]?$")


class DuplicateRowsWarning(UserWarning):
    """The pulse-train data held duplicated rows; they were dropped."""


@dataclass(frozen=True, kw_only=True)
class Layout:
    """Which of the lab's columns holds each quantity, and the conductance unit."""

    device: str | None = "device"
    """Column of the device identifier; ``None``: one device."""
    cycle: str | None = "cycle"
    """Column of the cycle index; ``None``: a new cycle starts at each potentiation train (pulse 0, rows in
    measurement order)."""
    pulse: str = "pulse"
    """Column of the pulses applied so far in the train (0 = before the first)."""
    direction: str = "direction"
    """Column of the train's direction: ``ltp``/``ltd`` (or ``set``/``reset``, ``up``/``down``, ``+1``/``-1``)."""
    conductance: str = "conductance"
    """Column of the measured conductance."""
    unit: str = "S"
    """Unit of the conductance column: S, mS, uS, nS or pS."""

    def __post_init__(self) -> None:
        if _scale(self.unit) is None:
            raise ValueError(f"unit={self.unit!r} is not one of S, mS, uS, nS, pS")

    @staticmethod
    def from_toml(path: str | Path) -> "Layout":
        """The ``[columns]`` table of a TOML (keys: the fields of :class:`Layout`)."""
        path = Path(path)
        with open(path, "rb") as f:
            table = tomllib.load(f).get("columns")
        if not isinstance(table, dict):
            raise ValueError(f"{path}: needs a [columns] table with keys {', '.join(f.name for f in fields(Layout))}")
        allowed = {f.name for f in fields(Layout)}
        unknown = sorted(set(table) - allowed)
        if unknown:
            raise ValueError(f"{path}: [columns].{unknown[0]} is unknown; allowed: {', '.join(sorted(allowed))}")
        return Layout(**table)


_SCALES = {"S": units.S, "mS": units.mS, "uS": units.uS, "µS": units.uS, "nS": units.nS, "pS": 1e-3 * units.nS}


def _scale(unit: str) -> float | None:
    """Siemens per unit of the conductance column (``None`` for an unknown unit)."""
    return _SCALES.get(unit)


def detect(columns: list[str], layout: Layout) -> Layout:
    """``layout`` with the recognised variants filled in where its default names are absent."""
    cols = list(map(str, columns))
    out = layout
    if out.direction not in cols and out.direction == "direction" and "polarity" in cols:
        out = replace(out, direction="polarity")
    if out.conductance not in cols and out.conductance == "conductance":
        for c in cols:
            m = _UNIT_SUFFIX.match(c)
            if m and m.group("name").lower() in ("conductance", "g") and c != m.group("name"):
                out = replace(out, conductance=c, unit=m.group("unit"))
                break
    if out.cycle == "cycle" and "cycle" not in cols:
        out = replace(out, cycle=None)
    if out.device == "device" and "device" not in cols:
        out = replace(out, device=None)
    return out


def numeric_column(frame: pd.DataFrame, column: str, path: str, integer: bool) -> np.ndarray:
    """``frame[column]`` as float64, or ValueError naming the column, the data row and the bad cell."""
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = (values.isna() & frame[column].notna()).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{path}: column {column!r} holds the non-numeric value {frame[column].iloc[row]!r} in data "
                         f"row {row + 1} ({int(bad.sum())} such rows); every cell must be a number")
    out = values.to_numpy(dtype=np.float64)
    if integer:
        wrong = ~np.isfinite(out) | (out != np.round(out))
        if wrong.any():
            row = int(np.flatnonzero(wrong)[0])
            raise ValueError(f"{path}: column {column!r} holds {float(out[row])!r} in data row {row + 1}; "
                             "it must be a whole number")
    return out


def to_standard(frame: pd.DataFrame, layout: Layout | None = None, source: str = "data") -> pd.DataFrame:
    """The lab's table in memlearn's columns (conductance in S), every cell checked.

    Raises:
        ValueError: a missing column, a non-numeric or non-integer cell, an unknown direction (naming
            the column, the row and the value).
    """
    layout = detect(list(frame.columns), layout or Layout())
    needed = [c for c in (layout.device, layout.cycle, layout.pulse, layout.direction, layout.conductance) if c]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(f"{source}: no column {missing[0]!r}; columns: {', '.join(map(str, frame.columns))}. "
                         "Name the columns with --device/--cycle/--pulse/--direction/--conductance (and --unit) "
                         "or a --layout TOML with a [columns] table")
    frame = frame.reset_index(drop=True)
    direction = frame[layout.direction].astype(str).str.strip().str.lower()
    bad = ~direction.isin(list(DIRECTIONS))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(f"{source}: column {layout.direction!r} holds {frame[layout.direction].iloc[row]!r} in data "
                         f"row {row + 1}; allowed: ltp/ltd, set/reset, up/down, +1/-1")
    pulse = numeric_column(frame, layout.pulse, source, integer=True)
    out = pd.DataFrame({
        "device": frame[layout.device].astype(str) if layout.device else "0",
        "pulse": pulse.astype(np.int64),
        "direction": direction.map(DIRECTIONS).map({1: "ltp", -1: "ltd"}),
        "conductance": numeric_column(frame, layout.conductance, source, integer=False) * _scale(layout.unit),
    })
    if layout.cycle:
        out.insert(1, "cycle", numeric_column(frame, layout.cycle, source, integer=True).astype(np.int64))
    else:  # a new cycle at each potentiation train's first row, counted per device in row order
        start = (out["pulse"] == 0) & (out["direction"] == "ltp")
        out.insert(1, "cycle", start.astype(int).groupby(out["device"]).cumsum().clip(lower=1) - 1)
    return drop_duplicates(out, source)


def drop_duplicates(data: pd.DataFrame, source: str = "data") -> pd.DataFrame:
    """``data`` without repeated rows (warning with their count); two different conductances for the same
    (device, cycle, direction, pulse) are an error."""
    dup = data.duplicated(keep="first")
    if dup.any():
        warnings.warn(f"{source}: {int(dup.sum())} of {len(data)} rows are exact duplicates of earlier rows "
                      "(was the file concatenated twice?); they were dropped", DuplicateRowsWarning, stacklevel=2)
        data = data[~dup.to_numpy()].reset_index(drop=True)
    clash = data.duplicated(["device", "cycle", "direction", "pulse"], keep=False)
    if clash.any():
        row = data[clash.to_numpy()].iloc[0]
        raise ValueError(f"{source}: device {row['device']!r}, cycle {row['cycle']}, {row['direction']} pulse "
                         f"{row['pulse']} has {int(clash.sum())} rows with different conductances; give each "
                         "measurement its own cycle")
    return data


def read(path: str | Path, layout: Layout | None = None) -> pd.DataFrame:
    """Read a pulse-train CSV in the lab's layout into memlearn's columns."""
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable CSV ({exc})") from None
    return to_standard(frame, layout, str(path))
