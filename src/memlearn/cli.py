"""The `memlearn` command line: run | sweep | report | devices | bench."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from memlearn.cli_devices import app as devices_app

app = typer.Typer(
    help="memlearn: simulate memristor crossbars and train neural networks on the chip.",
    epilog="Example: memlearn run examples/quickstart.toml --set train.epochs=5   "
           "(then open runs/quickstart/report.html)",
    no_args_is_help=True, add_completion=False, rich_markup_mode=None)
app.add_typer(devices_app, name="devices")


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@app.command(epilog="Examples:  memlearn run examples/quickstart.toml   |   "
                    "memlearn run examples/quickstart.toml --set device.preset=TaOx_HfOx --set train.epochs=5   |   "
                    "memlearn run --resume runs/quickstart")
def run(config: Optional[Path] = typer.Argument(None, help="Experiment config (TOML); omit with --resume."),
        set_: list[str] = typer.Option([], "--set", help="Override a config field: KEY.PATH=VALUE (repeatable)."),
        resume: Optional[Path] = typer.Option(None, "--resume", help="Continue the run in this folder from its last checkpoint."),
        json_out: bool = typer.Option(False, "--json", help="Print the summary as one JSON line last."),
        runs_dir: Path = typer.Option(Path("runs"), "--runs-dir", help="Parent folder of run folders."),
        progress: bool = typer.Option(True, "--progress/--no-progress", help="Live progress bar on stderr.")) -> None:
    """Run one experiment from a TOML config and write runs/<name>/ (metrics, checkpoint, figures, report.html)."""
    from memlearn.experiments.lock import FolderLockedError
    from memlearn.experiments.runner import run_experiment
    from memlearn.experiments.schema import ConfigError
    from memlearn.experiments.storage import CorruptFileError, dumps

    if config is None and resume is None:
        _fail("give a CONFIG file, or --resume RUN_DIR (see memlearn run --help)")
    if config is not None and resume is not None:
        _fail("give either CONFIG or --resume RUN_DIR, not both")
    import warnings

    try:
        with warnings.catch_warnings():  # a run's warnings (input range, duplicated rows) as one plain line each
            warnings.showwarning = lambda message, *args, **kwargs: typer.echo(f"warning: {message}", err=True)
            result = run_experiment(config, overrides=set_, runs_dir=runs_dir, resume=resume, progress=progress)
    except (ConfigError, CorruptFileError, FileNotFoundError, FolderLockedError) as exc:
        _fail(str(exc))
    summary = result.summary
    out = sys.stderr if json_out else sys.stdout
    if result.ok:
        acc, fl = summary.get("test_accuracy"), summary.get("float_test_accuracy")
        if isinstance(acc, float):
            line = f"test accuracy {acc:.4f}" + (f" (float baseline {fl:.4f})" if isinstance(fl, float) else "")
            print(line, file=out)
    else:
        print(f"run stopped: {summary.get('status')}: {summary.get('reason')}", file=out)
        for d in summary.get("diagnosis", []):
            print(f"  {d}", file=out)
    print(f"report: {result.report}", file=out)
    print(f"summary: {result.run_dir / 'summary.json'}", file=out)
    if json_out:
        print(dumps(summary))
    if not result.ok:
        raise typer.Exit(3)


@app.command(epilog="Examples:  memlearn sweep examples/codesign.toml --workers 2   |   "
                    "memlearn sweep examples/sweep_seeds.toml --scheduler tcp://10.0.0.5:8786")
def sweep(spec: Path = typer.Argument(..., help="Sweep file (TOML): base config + axes + seeds."),
          workers: int = typer.Option(2, "--workers", help="Local worker processes (ignored with --scheduler)."),
          scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Address of a running Dask scheduler, e.g. tcp://HOST:8786."),
          sweeps_dir: Path = typer.Option(Path("sweeps"), "--sweeps-dir", help="Parent folder of sweep folders."),
          json_out: bool = typer.Option(False, "--json", help="Print the sweep summary as one JSON line last."),
          progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar on stderr.")) -> None:
    """Run a grid or random sweep of configs x seeds on local processes or a Dask cluster; results.parquet/.csv as trials finish. Re-running skips finished trials. Exits 3 when a trial failed."""
    from memlearn.experiments.lock import FolderLockedError
    from memlearn.experiments.schema import ConfigError
    from memlearn.experiments.storage import CorruptFileError, dumps
    from memlearn.experiments.sweep import run_sweep

    if workers < 1:
        _fail(f"--workers={workers} must be >= 1")
    try:
        result = run_sweep(spec, workers=workers, scheduler=scheduler, sweeps_dir=sweeps_dir, progress=progress)
    except (ConfigError, CorruptFileError, FileNotFoundError, FolderLockedError) as exc:
        _fail(str(exc))
    out = sys.stderr if json_out else sys.stdout
    print(f"{result.summary['n_ok']} trials ok, {result.summary['n_diverged']} diverged, {result.summary['n_failed']} failed "
          f"({result.summary['n_skipped']} already done)", file=out)
    print(f"results: {result.folder / 'results.csv'}", file=out)
    print(f"report: {result.report}", file=out)
    if json_out:
        print(dumps(result.summary))
    if result.summary["n_failed"]:
        raise typer.Exit(3)


@app.command(epilog="Example:  memlearn report runs/quickstart   (writes runs/quickstart/report.html)")
def report(folder: Path = typer.Argument(..., help="A run folder (runs/<name>) or a sweep folder (sweeps/<name>).")) -> None:
    """Regenerate the self-contained HTML report of a run or sweep from its files."""
    from memlearn.experiments.report import build_report
    from memlearn.experiments.storage import CorruptFileError

    try:
        path = build_report(folder)
    except (FileNotFoundError, CorruptFileError) as exc:
        _fail(str(exc))
    print(f"report: {path}")


@app.command(epilog="Example:  memlearn bench devices   (runs benchmarks/bench_devices.py)")
def bench(names: list[str] = typer.Argument(None, help="Benchmarks to run (bench_<name>.py); all when omitted.")) -> None:
    """Run the benchmarks of a source checkout (benchmarks/run_all.py); each prints JSON figures."""
    import subprocess

    script = Path("benchmarks") / "run_all.py"
    if not script.is_file():
        _fail(f"{script} not found: run this from the root of a memlearn source checkout")
    raise typer.Exit(subprocess.call([sys.executable, str(script), *(names or [])]))


if __name__ == "__main__":
    app()
