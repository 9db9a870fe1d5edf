"""Figures and tables of a sweep: per-point means over seeds, the trade-off plot with its Pareto front."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from memlearn.experiments import figures


def _num(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return math.nan
    return f


def aggregate(rows: list[dict], axes: list[str], x: str, y: str) -> list[dict]:
    """One row per point (axis values): mean and std of ``x`` and ``y`` over its ok trials."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(tuple(str(r.get(a)) for a in axes), []).append(r)
    out = []
    for key, members in groups.items():
        ok = [m for m in members if m.get("status") == "ok"]
        xs = np.array([_num(m.get(x)) for m in ok])
        ys = np.array([_num(m.get(y)) for m in ok])
        row = {a: members[0].get(a) for a in axes}
        row.update({"n_ok": len(ok), "n_trials": len(members),
                    f"{y}_mean": float(np.nanmean(ys)) if ok else math.nan,
                    f"{y}_std": float(np.nanstd(ys)) if len(ok) > 1 else 0.0,
                    f"{x}_mean": float(np.nanmean(xs)) if ok else math.nan})
        out.append(row)
    return out


def write_sweep_outputs(folder: Path, cfg, rows: list[dict]) -> dict:
    """Write ``fig_tradeoff.png``, ``table_points.md`` and ``table_failed.md``; return the best point."""
    axes = list(cfg.axes)
    x, y = cfg.plot.x, cfg.plot.y
    label_axes = cfg.plot.label or axes
    points = aggregate(rows, axes, x, y)
    for stale in ("fig_tradeoff.png", "table_points.md", "table_failed.md"):
        (folder / stale).unlink(missing_ok=True)
    if points:
        xs = np.array([p[f"{x}_mean"] for p in points])
        ys = np.array([p[f"{y}_mean"] for p in points])
        labels = [", ".join(str(p.get(a)) for a in label_axes) for p in points]
        ok = np.isfinite(xs) & np.isfinite(ys)
        front = np.zeros(len(points), dtype=bool)
        if ok.any():
            front[ok] = figures.pareto_front(xs[ok], ys[ok])
            names = {"energy": "training energy (J)", "pulses": "write pulses during training",
                     "test_accuracy": "test accuracy"}
            figures.tradeoff(xs, ys, labels, folder / "fig_tradeoff.png", xlabel=names.get(x, x), ylabel=names.get(y, y),
                             title=f"{cfg.name}: {y} vs {x} (Pareto front highlighted)")
        for p, f in zip(points, front):
            p["pareto"] = bool(f)
        points.sort(key=lambda p: (-p[f"{y}_mean"] if math.isfinite(p[f"{y}_mean"]) else math.inf))
        figures.write_table(points, folder / "table_points.md")
    failed = [{"trial_id": r["trial_id"], "seed": r.get("seed"), "status": r["status"], "error": r.get("error", "")}
              for r in rows if r.get("status") != "ok"]
    if failed:
        figures.write_table(failed, folder / "table_failed.md")
    best = next((p for p in points if math.isfinite(p[f"{y}_mean"])), None)
    return {"best": best} if best else {}
