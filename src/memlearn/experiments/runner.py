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
from memlearn.experiments.storage import JsonLines, atomic_write_json, atomic_write_text

RESOLVED = "config.resolved.toml"


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
    """``metrics.jsonl`` writer handed to kinds as ``log``; every record also feeds the progress display."""

    def __init__(self, path: Path, progress: RunProgress | None = None) -> None:
        super().__init__(path)
        self.progress = progress

    def append(self, record: dict) -> None:
        if not isinstance(record, dict) or not ("epoch" in record or "step" in record):
            raise ValueError(f"a metrics record must be a dict with 'epoch' or 'step', got {record!r}")
        super().append(record)
        if self.progress is not None:
            self.progress.update(record)



def _fresh_dir(runs_dir: Path, name: str) -> Path:
    """``runs/<name>``, or ``runs/<name>-2``, ``-3`` ... when it exists: an earlier run is never overwritten."""
    candidate, i = runs_dir / name, 1
    while candidate.exists():
        i += 1
        candidate = runs_dir / f"{name}-{i}"
    return candidate


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

    Raises:
        ConfigError: a bad config (the message names file, field, value, allowed range).
        CorruptFileError: an unreadable checkpoint or metrics file (nothing is deleted).
    """
    created = False
    if resume is not None:
        folder = Path(resume)
        source = folder / RESOLVED
        if not source.exists():
            raise FileNotFoundError(f"--resume {folder}: no {RESOLVED} there, so it is not a run folder")
        if overrides:
            raise ConfigError("--set cannot be combined with --resume: a resumed run keeps its resolved config")
        cfg = load_toml(source)
        head = header(cfg, source)
    else:
        if (config_path is None) == (config is None):
            raise ValueError("give exactly one of config_path or config")
        source = Path(config_path) if config_path is not None else "<config>"
        cfg = load_toml(config_path) if config_path is not None else dict(config)
        cfg = apply_overrides(cfg, overrides)
        head = header(cfg, source)
        cfg = resolved(cfg)
        if run_dir is not None:
            folder = Path(run_dir)
        else:
            folder = _fresh_dir(Path(runs_dir), head.name)
        created = not folder.exists()
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / RESOLVED).exists():
            atomic_write_text(folder / RESOLVED, dump_toml(cfg))
    kind = registry.resolve_kind(head.kind)
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
        except ConfigError as exc:
            metrics = folder / "metrics.jsonl"
            if created and not (metrics.exists() and metrics.stat().st_size > 0):
                shutil.rmtree(folder, ignore_errors=True)  # nothing ran: leave no half-made folder behind
            if isinstance(source, Path) and not str(exc).startswith(str(source)):
                raise ConfigError(f"{source}: {exc}") from None
            raise
    atomic_write_json(folder / "summary.json", summary)
    atomic_write_json(folder / "run.json", {
        "wall_time_s": round(time.time() - started, 3), "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "torch": torch.__version__, "python": platform.python_version(), "host": platform.node(),
        "threads": head.threads, "resumed": resume is not None,
    })
    report = build_report(folder)
    return RunResult(folder, summary, report)
