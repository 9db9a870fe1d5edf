"""`make bench`: run every benchmarks/bench_*.py as its own process and print their JSON figures.

Each script prints one JSON object (its last stdout line). They run one after another so that
timings don't compete for the two cores.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    only = set(sys.argv[1:])
    results, failed = {}, []
    for script in scripts:
        name = script.stem[len("bench_"):]
        if only and name not in only:
            continue
        print(f"# running {script.name}", file=sys.stderr, flush=True)
        proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
        lines = [l for l in proc.stdout.strip().splitlines() if l.strip().startswith("{")]
        if proc.returncode != 0 or not lines:
            failed.append(name)
            results[name] = {"error": (proc.stderr or proc.stdout)[-2000:]}
            continue
        results[name] = json.loads(lines[-1])
        print(json.dumps({name: results[name]}), flush=True)
    out = HERE.parent / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps({"failed": failed, "written": str(out / "results.json")}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
