"""Chaos benchmark: SIGKILL every experiment kind at deterministic write points, resume, compare.

For each of the six kinds (tiny digits configs from ``tests/reliability/tiny_kinds.py``) it runs
one uninterrupted reference, then cycles of ``memlearn run`` / ``memlearn run --resume`` whose
processes SIGKILL themselves inside a chosen write (the test-only ``MEMLEARN_KILL_AT`` hook:
checkpoint, metrics line, summary, run.json; before or after the rename), each cycle ending with a
resume that finishes. Every finished folder must hold ``metrics.jsonl`` and ``summary.json``
byte-identical to the reference and no temp file. It also starts a second writer on a live run
of each kind (it must be refused, naming the holder's pid).

Usage: ``python benchmarks/chaos.py [--kinds train,eqprop] [--rounds N]`` (or ``make chaos``).
Prints one JSON line: kills, resumed, byte_identical, mismatched, stale_files, refused_second_writers.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "reliability"))

from tiny_kinds import KINDS, write_config  # noqa: E402

KILL_ENV = "MEMLEARN_KILL_AT"

# Kill points of each cycle: several processes per cycle (a kill, then a resume killed again ...).
CYCLES: list[list[str]] = [
    ["checkpoint.pt:1:before", "checkpoint.pt:1:after", "metrics.jsonl:1:before", "metrics.jsonl:2:after",
     "summary.json:1:before", "run.json:1:after"],
    ["checkpoint.pt:2:before", "metrics.jsonl:3:before", "checkpoint.pt:1:after", "summary.json:1:after",
     "run.json:1:before", "metrics.jsonl:2:before"],
]


def _env(kill: str | None) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env.pop(KILL_ENV, None)
    if kill:
        env[KILL_ENV] = kill
    return env


def _memlearn(args: list[str], cwd: Path, kill: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "memlearn.cli", "run", *args, "--no-progress"], cwd=cwd,
                          env=_env(kill), capture_output=True, text=True, timeout=600)


def _stale(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def _same(a: Path, b: Path) -> bool:
    return all((a / f).read_bytes() == (b / f).read_bytes() for f in ("metrics.jsonl", "summary.json"))


def _second_writer(cfg: Path, work: Path, name: str) -> bool:
    """Start a run, wait until it holds its folder's lock, then try ``--resume`` on that folder:
    True when the second writer was refused with the holder's pid (the first run then finishes)."""
    runs = work / "second"
    proc = subprocess.Popen([sys.executable, "-m", "memlearn.cli", "run", str(cfg), "--runs-dir", str(runs),
                             "--no-progress"], cwd=work, env=_env(None), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    lock = runs / name / ".lock"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:  # the event: the lock file names the holder
        if lock.exists() and lock.read_text().strip() == str(proc.pid):
            break
        time.sleep(0.005)
    refused = False
    if proc.poll() is None:
        second = _memlearn(["--resume", str(runs / name)], work)
        refused = second.returncode == 2 and f"process {proc.pid}" in second.stderr
        if not refused:  # the run may have finished in between: only a live holder counts
            refused = None if proc.poll() is not None else False
    proc.wait(timeout=600)
    return refused


def _chaos_kind(kind: str, work: Path, rounds: int) -> dict:
    """Reference run, kill cycles and the second-writer check of one kind; returns its counts."""
    totals = {"kills": 0, "resumed": 0, "byte_identical": 0, "mismatched": 0, "stale_files": 0,
              "refused_second_writers": 0, "second_writer_tries": 0, "by_kind": {}, "by_point": {}}
    (work / kind).mkdir()
    name = f"tiny-{kind}"
    cfg = write_config(work / kind, kind, name)
    ref = _memlearn([str(cfg), "--runs-dir", str(work / kind / "ref")], work)
    if ref.returncode not in (0, 3):
        raise SystemExit(f"{kind}: the reference run failed:\n{ref.stderr[-3000:]}")
    ref_dir = work / kind / "ref" / name
    kills = 0
    for c, cycle in enumerate(CYCLES[:rounds]):
        runs = work / kind / f"runs-{c}"
        folder = runs / name
        proc = _memlearn([str(cfg), "--runs-dir", str(runs)], work, kill=cycle[0])
        # Each next process is a resume with the next kill point (a finished run is resumed
        # too: that must leave its results unchanged); then resumes until one finishes.
        for point, nxt in zip(cycle, [*cycle[1:], None]):
            if proc.returncode == -signal.SIGKILL:
                kills += 1
                totals["by_point"][point] = totals["by_point"].get(point, 0) + 1
                totals["resumed"] += 1
            elif proc.returncode not in (0, 3):
                break
            proc = _memlearn(["--resume", str(folder)], work, kill=nxt)
        if proc.returncode not in (0, 3):
            totals["mismatched"] += 1
            print(f"{kind} cycle {c}: exit {proc.returncode}: {proc.stderr[-1500:]}", file=sys.stderr)
            continue
        totals["stale_files"] += len(_stale(folder))
        if _same(folder, ref_dir):
            totals["byte_identical"] += 1
        else:
            totals["mismatched"] += 1
            print(f"{kind} cycle {c}: files differ from the reference", file=sys.stderr)
    totals["kills"] += kills
    totals["by_kind"][kind] = kills
    refused = _second_writer(cfg, work / kind, name)
    if refused is not None:
        totals["second_writer_tries"] += 1
        totals["refused_second_writers"] += bool(refused)
    return totals


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--rounds", type=int, default=len(CYCLES), help="kill cycles per kind (<= %d)" % len(CYCLES))
    ap.add_argument("--jobs", type=int, default=2, help="kinds run side by side")
    args = ap.parse_args(argv)
    kinds = [k for k in args.kinds.split(",") if k]
    totals = {"kills": 0, "resumed": 0, "byte_identical": 0, "mismatched": 0, "stale_files": 0,
              "refused_second_writers": 0, "second_writer_tries": 0, "by_kind": {}, "by_point": {}}
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="memlearn-chaos-") as tmp:
        work = Path(tmp)
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            for part in pool.map(lambda kind: _chaos_kind(kind, work, args.rounds), kinds):
                for key, value in part.items():
                    if isinstance(value, dict):
                        for k, v in value.items():
                            totals[key][k] = totals[key].get(k, 0) + v
                    else:
                        totals[key] += value
    totals["wall_s"] = round(time.time() - started, 1)
    print(json.dumps(totals, sort_keys=True))
    ok = totals["mismatched"] == 0 and totals["stale_files"] == 0 and \
        totals["refused_second_writers"] == totals["second_writer_tries"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
