"""Run one experiment: config -> ``runs/<name>/`` with metrics, checkpoint, summary, figures, report.

The runner owns the run folder and the reliability machinery (atomic files, fsynced metrics,
resume, divergence handling); experiment kinds only compute. ``summary.json`` holds results only
(no timestamps), so the same config and seed give a byte-identical summary; timing and versions
go to ``run.json``.
"""

from __future__ import annotations

import platform
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from memlearn.experiments import registry
from memlearn.experiments.config import apply_overrides, dump_toml, header, load_toml, resolved
from memlearn.experiments.health import DivergenceError
from memlearn.experiments.progress import RunProgress
from memlearn.experiments.report import build_report
from memlearn.experiments.schema import ConfigError
from memlearn.experiments.lock import FolderLock, FolderLockedError, create_fresh_dir
from memlearn.experiments.storage import CorruptFileError, JsonLines, atomic_write_json, atomic_write_text, remove_stale_temps

RESOLVED = "config.resolved.toml"
TIMINGS = "timings.jsonl"
"""Wall-clock figures of a run (epoch seconds ...): they differ between identical runs, so they are
kept out of ``metrics.jsonl`` and ``summary.json``."""

__all__ = ["RunResult", "RunLog", "run_experiment", "resolve_paths", "FolderLockedError", "RESOLVED", "TIMINGS"]


@dataclass(frozen=True)
class RunResult:
    """What a finished run left behind."""

    run_dir: Path
    summary: dict
    report: Path

    @property
    def ok(self) -> bool:
        return self.summary.get("status") == "ok"


class RunLog(JsonLines):
    """``metrics.jsonl`` writer handed to kinds as ``log``; every record also feeds the progress display.
    Wall-clock figures go to ``timings.jsonl`` (:func:`memlearn.experiments.storage.log_timing`)."""

    def __init__(self, path: Path, progress: RunProgress | None = None) -> None:
        super().__init__(path)
        self.progress = progress
        self.timings = JsonLines(Path(path).with_name(TIMINGS))

    def append(self, record: dict) -> None:
        if not isinstance(record, dict) or not ("epoch" in record or "step" in record):
            raise ValueError(f"a metrics record must be a dict with 'epoch' or 'step', got {record!r}")
        super().append(record)
        if self.progress is not None:
            self.progress.update(record)


def resolve_paths(cfg: dict, base: Path) -> dict:
    """``cfg`` with a relative ``data.path`` made absolute against ``base`` (the config file's folder),
    so that the recorded config works from any directory (``--resume`` included)."""
    data = cfg.get("data")
    if isinstance(data, dict) and isinstance(data.get("path"), str) and data["path"]:
        p = Path(data["path"]).expanduser()
        if not p.is_absolute():
            cfg = {**cfg, "data": {**data, "path": str((base / p).resolve())}}
    return cfg


def _has_records(folder: Path) -> bool:
    metrics = folder / "metrics.jsonl"
    return metrics.exists() and metrics.stat().st_size > 0


def run_experiment(config_path: str | Path | None = None, *, config: dict | None = None,
                   overrides: tuple[str, ...] | list[str] = (), runs_dir: str | Path = "runs",
                   resume: str | Path | None = None, run_dir: str | Path | None = None,
                   progress: bool = True) -> RunResult:
    """Run (or resume) one experiment.

    Args:
        config_path: the TOML config (or pass ``config`` as a dict).
        overrides: ``"a.b=value"`` items applied on top of the file.
        runs_dir: parent of the run folder ``<runs_dir>/<name>/`` (``-2``, ``-3`` ... if taken).
        resume: an existing run folder to continue from its last checkpoint (its resolved config is used).
        run_dir: use exactly this folder (created; resumed if it holds a checkpoint), e.g. for sweep trials.
        progress: show a live progress bar on stderr.

    The folder is locked (:class:`memlearn.experiments.lock.FolderLock`) for the whole run: a second
    writer fails with :class:`FolderLockedError` naming the holder's pid. Temp files of killed writers
    are removed first. A start that fails before any record was written leaves no folder behind; a
    later failure is recorded in ``run.json`` (``status = "failed"`` and the error).

    Raises:
        ConfigError: a bad config (the message names file, field, value, allowed range).
        CorruptFileError: an unreadable checkpoint or metrics file (nothing is deleted).
        FolderLockedError: another live process writes the folder.
    """
    created = False
    if resume is not None:
        folder = Path(resume)
        source = folder / RESOLVED
        if not folder.is_dir():
            raise FileNotFoundError(f"--resume {folder}: no such run folder")
        if overrides:
            raise ConfigError("--set cannot be combined with --resume: a resumed run keeps its resolved config")
        lock = FolderLock(folder).acquire()
        removed = remove_stale_temps(folder)
        if not source.exists():
            lock.release()
            raise FileNotFoundError(f"--resume {folder}: no {RESOLVED} there, so it is not a run folder (or its "
                                    "start was killed before its config was recorded, and nothing ran: run the "
                                    "config again)")
        try:
            cfg = load_toml(source)
            head = header(cfg, source)
            kind = registry.resolve_kind(head.kind)
        except BaseException:
            lock.release()
            raise
    else:
        if (config_path is None) == (config is None):
            raise ValueError("give exactly one of config_path or config")
        source = Path(config_path) if config_path is not None else "<config>"
        cfg = load_toml(config_path) if config_path is not None else dict(config)
        if isinstance(source, Path):
            cfg = resolve_paths(cfg, source.resolve().parent)
        cfg = resolve_paths(apply_overrides(cfg, overrides), Path.cwd())
        head = header(cfg, source)
        cfg = resolved(cfg)
        try:
            kind = registry.resolve_kind(head.kind)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") if isinstance(source, Path) else exc from None
        if run_dir is not None:
            folder = Path(run_dir)
            created = not folder.exists()
            folder.mkdir(parents=True, exist_ok=True)
        else:
            folder, created = create_fresh_dir(Path(runs_dir), head.name), True
        lock = FolderLock(folder).acquire()
        removed = remove_stale_temps(folder)
    try:
        if resume is None:
            if not (folder / RESOLVED).exists():
                atomic_write_text(folder / RESOLVED, dump_toml(cfg))
            cfg = load_toml(folder / RESOLVED)  # the kind sees exactly what a resume will see
        torch.set_num_threads(head.threads)
        started = time.time()
        with RunProgress(f"{head.name}", enabled=progress) as bar:
            log = RunLog(folder / "metrics.jsonl", bar)
            try:
                body = kind(cfg, folder, log, head.seed)
                summary = {"name": head.name, "kind": head.kind, "seed": head.seed, "status": "ok", **body}
            except DivergenceError as exc:
                summary = {"name": head.name, "kind": head.kind, "seed": head.seed, "status": "diverged",
                           "reason": exc.reason, "diagnosis": exc.diagnosis}
            except BaseException as exc:
                _failed(folder, created, exc, resume is not None)
                if isinstance(exc, ConfigError) and isinstance(source, Path) and not str(exc).startswith(str(source)):
                    raise ConfigError(f"{source}: {exc}") from None
                raise
        atomic_write_json(folder / "summary.json", summary)
        atomic_write_json(folder / "run.json", {
            "wall_time_s": round(time.time() - started, 3),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "torch": torch.__version__, "python": platform.python_version(), "host": platform.node(),
            "threads": head.threads, "resumed": resume is not None, "status": summary["status"],
            "stale_temp_files_removed": removed, "lock_taken_over_from_pid": lock.previous_pid,
        })
        report = build_report(folder)
    finally:
        lock.release()
    return RunResult(folder, summary, report)


def _failed(folder: Path, created: bool, exc: BaseException, resumed: bool) -> None:
    """After a failure: a folder this call created that holds no record is removed (nothing ran);
    otherwise ``run.json`` records the failure. A SIGKILL skips this (resume handles that case)."""
    if isinstance(exc, CorruptFileError):
        return  # an unreadable file: the folder is left exactly as it was, for the user to inspect
    if created and not _has_records(folder):
        shutil.rmtree(folder, ignore_errors=True)
        return
    atomic_write_json(folder / "run.json", {
        "status": "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed", "error": f"{type(exc).__name__}: {exc}"[:2000], "resumed": resumed,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
