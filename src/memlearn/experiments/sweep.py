"""Sweeps: a base config, axes over any fields (grid or random), seeds per point, run anywhere.

Trials go to a local pool of trial processes (``--workers N``) or to a Dask cluster
(``--scheduler tcp://HOST:PORT``); both call the same :func:`memlearn.experiments.trial.run_trial`.
Results land in ``results.parquet`` and ``results.csv`` (rewritten atomically as each trial
finishes). A re-run skips trials whose status is ok or diverged and retries failed and missing
ones; a failing, hanging or killed trial is recorded with its reason and the sweep goes on.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from memlearn.experiments.config import check_name, dump_toml, header, load_toml, set_path
from memlearn.experiments.lock import FolderLock
from memlearn.experiments.schema import validate
from memlearn.experiments.storage import CorruptFileError, atomic_write_bytes, atomic_write_json, atomic_write_text
from memlearn.experiments.sweep_executor import TrialExecutor

DONE = ("ok", "diverged", "at_chance")
"""Trial statuses a re-run does not repeat (a divergence or a run at chance level is a deterministic
result, not a failure)."""


@dataclass(frozen=True, kw_only=True)
class PlotConfig:
    """``[plot]``: the trade-off figure of the sweep."""

    x: str = "energy"
    """Results column on the x axis (lower is better), e.g. ``energy`` (J) or ``pulses``."""
    y: str = "test_accuracy"
    """Results column on the y axis (higher is better)."""
    label: list[str] = field(default_factory=list)
    """Axis names whose values label points on the Pareto front; default: every axis."""


@dataclass(frozen=True, kw_only=True)
class SweepConfig:
    """A sweep file: the base run config, the axes, seeds per point, limits."""

    name: str = "sweep"
    """Sweep name: the folder ``<sweeps-dir>/<name>/`` (letters, digits, ``_ . -``)."""
    base: str | dict[str, Any] = field(default_factory=dict)
    """Base run config: a TOML path (relative to the sweep file) or an inline table."""
    set: dict[str, Any] = field(default_factory=dict)
    """Overrides applied to the base for every trial, ``"dotted.key" = value`` (e.g. ``"train.epochs" = 3``)."""
    axes: dict[str, Any] = field(default_factory=dict)
    """``"dotted.key" = [values]`` (grid or random choice), or for random mode ``{low, high, log}`` ranges."""
    mode: Literal["grid", "random"] = "grid"
    """``grid``: every combination of the axes; ``random``: ``n_points`` seeded random draws."""
    n_points: int = 10
    """Random mode: number of points drawn (1..100000)."""
    sampler_seed: int = 0
    """Random mode: seed of the point sampler (>= 0)."""
    seeds: int | list[int] = 1
    """Chip instances per point: an int ``n`` (seeds base.seed + 0..n-1) or an explicit list of seeds."""
    timeout: float = 3600.0
    """Time limit per trial (s, > 0); a trial past it is killed and recorded as failed."""
    plot: PlotConfig = field(default_factory=PlotConfig)
    """The trade-off figure."""

    def __post_init__(self) -> None:
        check_name("name", self.name)
        if not self.axes and self.mode == "random":
            raise ValueError("axes must list at least one field for mode = \"random\"")
        for key, values in self.axes.items():
            if isinstance(values, list):
                if not values:
                    raise ValueError(f"axes.{key!r} lists no values")
            elif isinstance(values, dict):
                if self.mode != "random" or set(values) - {"low", "high", "log", "integer"} or not {"low", "high"} <= set(values):
                    raise ValueError(f"axes.{key!r} = {values!r}: a range table needs mode = \"random\" and keys "
                                     "low, high (optional log, integer)")
                if not values["low"] < values["high"] or (values.get("log") and values["low"] <= 0):
                    raise ValueError(f"axes.{key!r}: need low < high (and low > 0 with log = true)")
            else:
                raise ValueError(f"axes.{key!r} = {values!r} must be a list of values or a {{low, high}} table")
        if not 1 <= self.n_points <= 100_000:
            raise ValueError(f"n_points={self.n_points!r} must be in [1, 100000]")
        if isinstance(self.seeds, int) and not 1 <= self.seeds <= 10_000:
            raise ValueError(f"seeds={self.seeds!r} must be in [1, 10000] (or a list of seeds)")
        if isinstance(self.seeds, list) and (not self.seeds or min(self.seeds) < 0):
            raise ValueError(f"seeds={self.seeds!r} must be a non-empty list of seeds >= 0")
        if not (math.isfinite(self.timeout) and self.timeout > 0):
            raise ValueError(f"timeout={self.timeout!r} must be a finite time > 0 (s)")


@dataclass(frozen=True)
class SweepResult:
    folder: Path
    rows: list[dict]
    summary: dict
    report: Path


def load_sweep(path: str | Path) -> tuple[SweepConfig, dict]:
    """The validated sweep config and its base run config (with ``set`` applied)."""
    path = Path(path)
    raw = load_toml(path)
    cfg = validate(SweepConfig, raw, "", path)
    if isinstance(cfg.base, str):
        base_path = (path.parent / cfg.base).resolve()
        base = load_toml(base_path)
    else:
        base = dict(cfg.base)
    for key, value in cfg.set.items():
        base = set_path(base, key.split("."), value)
    header(base, path)
    return cfg, base


def points(cfg: SweepConfig) -> list[dict]:
    """The sweep's points: ``{axis: value}`` dicts, in a fixed order."""
    keys = list(cfg.axes)
    if cfg.mode == "grid":
        lists = [cfg.axes[k] for k in keys]
        return [dict(zip(keys, combo)) for combo in itertools.product(*lists)] if keys else [{}]
    rng = random.Random(cfg.sampler_seed)
    out = []
    for _ in range(cfg.n_points):
        point = {}
        for k in keys:
            spec = cfg.axes[k]
            if isinstance(spec, list):
                point[k] = spec[rng.randrange(len(spec))]
            else:
                lo, hi = float(spec["low"]), float(spec["high"])
                v = math.exp(rng.uniform(math.log(lo), math.log(hi))) if spec.get("log") else rng.uniform(lo, hi)
                point[k] = int(round(v)) if spec.get("integer") else v
        out.append(point)
    return out


def trial_id(point: dict, seed: int, base: dict) -> str:
    """Stable id of a (base config, point, seed) triple: the same trial gets the same folder on every
    re-run, and editing the base config makes new trials instead of reusing stale results."""
    text = json.dumps({"point": point, "seed": seed, "base": base}, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def plan(cfg: SweepConfig, base: dict, folder: Path) -> list[dict]:
    """Write every trial's ``trial.toml`` and return the trial specs."""
    base_seed = int(base.get("seed", 0))
    seeds = cfg.seeds if isinstance(cfg.seeds, list) else [base_seed + i for i in range(cfg.seeds)]
    specs = []
    for point in points(cfg):
        for seed in seeds:
            tid = trial_id(point, seed, base)
            config = dict(base)
            for key, value in point.items():
                config = set_path(config, key.split("."), value)
            config = set_path(config, ["seed"], seed)
            config = set_path(config, ["name"], f"{cfg.name}-{tid}")
            trial_dir = folder / "trials" / tid
            trial_dir.mkdir(parents=True, exist_ok=True)
            text = dump_toml(config)
            if not (trial_dir / "trial.toml").exists() or (trial_dir / "trial.toml").read_text() != text:
                atomic_write_text(trial_dir / "trial.toml", text)
            specs.append({"trial_id": tid, "trial_dir": str(trial_dir), "timeout": cfg.timeout,
                          "point": {k: _cell(v) for k, v in point.items()}, "seed": seed})
    return specs


def _cell(v: Any) -> Any:
    return v if isinstance(v, (int, float, str, bool)) else json.dumps(v)


def read_results(folder: Path) -> list[dict]:
    """Rows of ``results.parquet`` (or ``results.csv`` if the parquet file is unreadable)."""
    import pandas as pd

    pq, csv = folder / "results.parquet", folder / "results.csv"
    errors = []
    if pq.exists():
        try:
            return pd.read_parquet(pq).to_dict("records")
        except Exception as exc:  # pyarrow raises several types for a damaged file
            errors.append(f"{pq.name}: {exc}")
    if csv.exists():
        try:
            frame = pd.read_csv(csv, on_bad_lines="skip", engine="python")
            if "trial_id" not in frame.columns or "status" not in frame.columns:
                raise ValueError("missing trial_id/status columns")
            return frame[frame["trial_id"].notna()].to_dict("records")
        except Exception as exc:
            errors.append(f"{csv.name}: {exc}")
    if errors:
        raise CorruptFileError(f"results in {folder} are unreadable ({'; '.join(errors)}); they were left untouched: "
                               "move them away to start the sweep's table afresh")
    return []


def write_results(folder: Path, rows: list[dict]) -> None:
    import pandas as pd

    frame = pd.DataFrame(rows)
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    atomic_write_bytes(folder / "results.parquet", buf.getvalue())
    atomic_write_text(folder / "results.csv", frame.to_csv(index=False))


def run_sweep(path: str | Path, *, workers: int = 2, scheduler: str | None = None,
              sweeps_dir: str | Path = "sweeps", progress: bool = True) -> SweepResult:
    """Run (or continue) the sweep described by ``path``; returns rows, summary and report path."""
    cfg, base = load_sweep(path)
    folder = Path(sweeps_dir) / cfg.name
    folder.mkdir(parents=True, exist_ok=True)
    lock = FolderLock(folder).acquire()  # one sweep process per sweep folder
    try:
        return _run_sweep(cfg, base, folder, workers, scheduler, progress)
    finally:
        lock.release()


def _run_sweep(cfg: SweepConfig, base: dict, folder: Path, workers: int, scheduler: str | None,
               progress: bool) -> SweepResult:
    from memlearn.experiments.sweep_report import write_sweep_outputs

    atomic_write_text(folder / "sweep.resolved.toml", dump_toml({
        "name": cfg.name, "mode": cfg.mode, "n_points": cfg.n_points, "sampler_seed": cfg.sampler_seed,
        "seeds": cfg.seeds, "timeout": cfg.timeout, "axes": cfg.axes,
        "plot": {"x": cfg.plot.x, "y": cfg.plot.y, "label": cfg.plot.label}, "base": base}))
    specs = plan(cfg, base, folder)
    wanted = {s["trial_id"] for s in specs}
    previous = {r["trial_id"]: r for r in read_results(folder) if r.get("trial_id") in wanted}
    rows = {tid: r for tid, r in previous.items() if r.get("status") in DONE}
    todo = [s for s in specs if s["trial_id"] not in rows]
    n_skipped = len(rows)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    bar = Progress(TextColumn(f"[bold]sweep {cfg.name}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                   console=Console(stderr=True), disable=not progress)
    n_failed = 0
    with bar:
        task = bar.add_task("trials", total=len(specs), completed=n_skipped, info=f"{n_skipped} already done")
        if todo:
            executor = TrialExecutor(workers, scheduler)
            try:
                for row in executor.run(todo):
                    rows[row["trial_id"]] = row
                    n_failed += row["status"] not in DONE
                    write_results(folder, [rows[s["trial_id"]] for s in specs if s["trial_id"] in rows])
                    bar.update(task, advance=1, info=f"{n_failed} failed; last: {row['status']}")
            finally:
                executor.close()
    ordered = [rows[s["trial_id"]] for s in specs if s["trial_id"] in rows]
    if ordered:
        write_results(folder, ordered)
    n_ok = sum(r["status"] == "ok" for r in ordered)
    summary = {"name": cfg.name, "n_trials": len(specs), "n_ok": n_ok,
               "n_diverged": sum(r["status"] == "diverged" for r in ordered),
               "n_at_chance": sum(r["status"] == "at_chance" for r in ordered),
               "n_failed": sum(r["status"] not in DONE for r in ordered), "n_skipped": n_skipped,
               "status": "ok" if n_ok == len(specs) else "incomplete"}
    summary.update(write_sweep_outputs(folder, cfg, ordered))
    atomic_write_json(folder / "summary.json", summary)
    from memlearn.experiments.report import build_report

    return SweepResult(folder, ordered, summary, build_report(folder))
