"""Exact IR-drop solve: memlearn vs badcrossbar on the same cases, in the same run, one BLAS thread.

Cases: the ``bench`` files of ``shared/data/ir_drop`` (64, 128, 256; their one input vector, and
64 seeded random vectors in [0, 0.5] V), then random square arrays 64..1024 for the scaling (R
log-uniform in [1e3, 1e6] ohm, r = 0.5 ohm, as the reference files; badcrossbar up to 512 and one
vector only). Every timing is the median of several runs (5 for the bench cases), each in a fresh
worker process, the two tools interleaved run by run (``speedup_auto_per_run``: the ratio of each
back-to-back pair); each worker also reports its peak resident memory: the whole
process (``*_peak_rss_mib``, ``ru_maxrss``, imports included) and above the RSS it had before the
solve (``*_peak_mib``; 0 when the imports set the high-water mark). badcrossbar runs through
``.venv-badcrossbar/bin/python`` when that venv exists (``"badcrossbar": "not installed"``
otherwise); its plotting needs cairo, so only ``badcrossbar.compute`` is imported. Accuracy: max
|memlearn - badcrossbar| / max |badcrossbar| on every compared case. Also reports the fast
approximation's error (first-order model = 0 iterations, then CG steps) and its cost relative to a
plain matmul.

Usage: ``python benchmarks/bench_ir_drop.py [--quick]``; the last stdout line is one JSON object.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import json  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BADCROSSBAR_PY = ROOT / ".venv-badcrossbar" / "bin" / "python"
R_LINE = 0.5

_BADCROSSBAR_WORKER = r"""
import json, resource, statistics, sys, time, warnings, logging
import numpy as np
warnings.simplefilter("ignore")
logging.disable(logging.CRITICAL)
import importlib
compute = importlib.import_module("badcrossbar.compute").compute
case, out, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
d = np.load(case)
R, V, r = d["resistances"], d["applied_voltages"], float(d["r"])
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
times = []
for _ in range(repeats):
    t = time.perf_counter()
    s = compute(V, R, r_i_word_line=r, r_i_bit_line=r, node_voltages=False, all_currents=False)
    times.append(time.perf_counter() - t)
np.save(out, np.asarray(s.currents.output).reshape(V.shape[1], R.shape[1]))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"median_s": statistics.median(times), "runs": repeats, "peak_mib": (peak - base) / 1024,
                  "peak_rss_mib": peak / 1024}))
"""


def _rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _worker(case: str, out: str, repeats: int, method: str) -> None:
    """Time memlearn's exact solve on one case (runs in its own process for a clean peak RSS)."""
    import torch

    from memlearn.crossbar.ir_drop import solve_exact

    torch.set_num_threads(1)
    d = np.load(case)
    g = torch.from_numpy(1.0 / d["resistances"])
    v = torch.from_numpy(np.ascontiguousarray(d["applied_voltages"].T))
    r = float(d["r"])
    solve_exact(g[:8, :8], v[:, :8], r, r, method=method)  # warm the code paths, not the case
    base = _rss_kib()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        cur = solve_exact(g, v, r, r, method=method)
        times.append(time.perf_counter() - t)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    np.save(out, cur.numpy())
    print(json.dumps({"median_s": statistics.median(times), "runs": repeats,
                      "peak_mib": max(peak - base, 0) / 1024, "peak_rss_mib": peak / 1024}))


def _run(cmd: list[str], timeout: float) -> dict:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{cmd[:3]} failed: {proc.stderr[-1500:]}")
    return json.loads(lines[-1])


def _random_case(size: int, batch: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    resistances = 10.0 ** rng.uniform(3, 6, (size, size))
    return resistances, rng.uniform(0.0, 0.5, (size, batch))


def _compare(tmp: Path, name: str, resistances: np.ndarray, voltages: np.ndarray, *, repeats: int,
             methods: tuple[str, ...], with_badcrossbar: bool, reference: np.ndarray | None) -> dict:
    case = tmp / f"{name}.npz"
    np.savez(case, resistances=resistances, applied_voltages=voltages, r=R_LINE)
    row: dict = {"rows": resistances.shape[0], "cols": resistances.shape[1], "batch": voltages.shape[1]}
    outputs: dict = {}
    times: dict = {m: [] for m in methods + (("badcrossbar",) if with_badcrossbar else ())}
    peaks: dict = {}
    # Interleave the tools run by run (one fresh process each) so that load changes on a shared
    # machine hit both alike; the medians are taken over these runs.
    for rep in range(repeats):
        for method in methods:
            if method == "cg" and rep > 0 and voltages.shape[1] > 1 and resistances.size >= 256 * 256:
                continue  # CG on many vectors of a large array takes tens of seconds: time it once
            out = tmp / f"{name}_{method}.npy"
            res = _run([sys.executable, __file__, "--worker", str(case), str(out), "1", method], 3600)
            outputs[method] = np.load(out)
            times[method].append(res["median_s"])
            peaks[method] = (res["peak_mib"], res.get("peak_rss_mib", 0.0))
        if with_badcrossbar:
            out = tmp / f"{name}_badcrossbar.npy"
            res = _run([str(BADCROSSBAR_PY), "-c", _BADCROSSBAR_WORKER, str(case), str(out), "1"], 3600)
            outputs["badcrossbar"] = np.load(out)
            times["badcrossbar"].append(res["median_s"])
            peaks["badcrossbar"] = (res["peak_mib"], res.get("peak_rss_mib", 0.0))
    for method in methods:
        row[f"memlearn_{method}_s"] = statistics.median(times[method])
        row[f"memlearn_{method}_peak_mib"] = round(peaks[method][0], 1)
        row[f"memlearn_{method}_peak_rss_mib"] = round(peaks[method][1], 1)
    row["runs"] = repeats
    from memlearn.crossbar.ir_drop.solve import _nested_is_cheaper

    row["auto_picks"] = "nested" if _nested_is_cheaper(*resistances.shape, voltages.shape[1]) else "cg"
    best = min(methods, key=lambda m: row[f"memlearn_{m}_s"])
    if reference is not None:
        scale = np.abs(reference).max()
        row["max_rel_err_vs_reference"] = max(float(np.abs(outputs[m] - reference).max() / scale) for m in methods)
    if with_badcrossbar:
        bc = outputs["badcrossbar"]
        row["badcrossbar_s"] = statistics.median(times["badcrossbar"])
        row["badcrossbar_peak_mib"] = round(peaks["badcrossbar"][0], 1)
        row["badcrossbar_peak_rss_mib"] = round(peaks["badcrossbar"][1], 1)
        row["max_rel_err_vs_badcrossbar"] = max(float(np.abs(outputs[m] - bc).max() / np.abs(bc).max()) for m in methods)
        row["speedup_vs_badcrossbar"] = round(row["badcrossbar_s"] / row[f"memlearn_{best}_s"], 1)
        picked = row["auto_picks"] if row["auto_picks"] in methods else "auto"
        row["speedup_auto_vs_badcrossbar"] = round(row["badcrossbar_s"] / row[f"memlearn_{picked}_s"], 1)
        # the same ratio run by run (each pair ran back to back), to show its spread under load
        row["speedup_auto_per_run"] = [round(b / m, 1) for b, m in zip(times["badcrossbar"], times[picked])]
    return row


def _approx_figures(data: Path) -> dict:
    import torch

    from memlearn.crossbar.ir_drop import solve_approx, solve_exact

    torch.set_num_threads(1)
    figures: dict = {"iterations": [0, 1, 2, 4, 8], "reference_cases": {}, "random_cases": {},
                     "ignoring_ir_drop": {}}
    for path in sorted(data.glob("badcrossbar_*.npz")):
        d = np.load(path)
        g = torch.from_numpy(1.0 / d["resistances"]).float()
        v = torch.from_numpy(np.ascontiguousarray(d["applied_voltages"].T)).float()
        ref = d["output_currents"]
        figures["ignoring_ir_drop"][path.stem] = float(np.abs(d["ideal_output_currents"] - ref).max() / np.abs(ref).max())
        figures["reference_cases"][path.stem] = [
            float(np.abs(solve_approx(g, v, float(d["r_i_word_line"]), float(d["r_i_bit_line"]), iterations=k).double().numpy() - ref).max() / np.abs(ref).max())
            for k in figures["iterations"]]
    for size, r in ((64, 0.1), (64, 1.0), (256, 0.1), (256, 1.0)):
        resistances, voltages = _random_case(size, 16, seed=size)
        g = torch.from_numpy(1.0 / resistances)
        v = torch.from_numpy(np.ascontiguousarray(voltages.T))
        exact = solve_exact(g, v, r, r).numpy()
        figures["ignoring_ir_drop"][f"{size}x{size}_r{r}"] = float(np.abs((v @ g).numpy() - exact).max() / np.abs(exact).max())
        figures["random_cases"][f"{size}x{size}_r{r}"] = [
            float(np.abs(solve_approx(g.float(), v.float(), r, r, iterations=k).double().numpy() - exact).max() / np.abs(exact).max())
            for k in figures["iterations"]]
    gen = torch.Generator().manual_seed(0)
    g = torch.rand(256, 256, generator=gen) * 1e-4
    x = torch.rand(64, 256, generator=gen)

    def med(f, n=5):
        f()
        ts = []
        for _ in range(n):
            t = time.perf_counter()
            f()
            ts.append(time.perf_counter() - t)
        return statistics.median(ts)

    t_mm = med(lambda: x @ g, 21)
    figures["cost_256x256_batch64_float32"] = {
        "matmul_s": t_mm,
        **{f"approx_{k}_iter_over_matmul": round(med(lambda k=k: solve_approx(g, x, 0.5, 0.5, iterations=k)) / t_mm, 1)
           for k in (0, 1, 4)}}
    return figures


def main() -> int:
    quick = "--quick" in sys.argv
    data = Path(os.environ.get("MEMLEARN_DATA", ROOT.parent / "shared" / "data")) / "ir_drop"
    have_bc = BADCROSSBAR_PY.exists()
    result: dict = {"benchmark": "ir_drop_exact", "threads": "1 torch thread, 1 BLAS thread (OPENBLAS_NUM_THREADS=1) for both tools",
                    "badcrossbar": "installed" if have_bc else "not installed", "bench_cases": [], "scaling": []}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for size in (64, 128, 256):
            path = next(data.glob(f"badcrossbar_bench_{size}x{size}_*.npz"), None)
            if path is None:
                continue
            d = np.load(path)
            for batch in (1, 64):
                volts = d["applied_voltages"] if batch == 1 else np.random.default_rng(batch).uniform(0, 0.5, (size, batch))
                ref = d["output_currents"] if batch == 1 else None
                result["bench_cases"].append(_compare(
                    tmp, f"bench{size}_{batch}", d["resistances"], volts, repeats=5,
                    methods=("cg", "nested"), with_badcrossbar=have_bc, reference=ref))
                print(json.dumps(result["bench_cases"][-1]), file=sys.stderr, flush=True)
        sizes = (64, 128, 256) if quick else (64, 128, 256, 512, 1024)
        for size in sizes:
            for batch in (1, 64):
                resistances, volts = _random_case(size, batch, seed=size)
                result["scaling"].append(_compare(
                    tmp, f"scale{size}_{batch}", resistances, volts, repeats=1 if size >= 512 else 3,
                    methods=("auto",), with_badcrossbar=have_bc and size <= 512 and batch == 1, reference=None))
                print(json.dumps(result["scaling"][-1]), file=sys.stderr, flush=True)
    if data.is_dir():
        result["approx"] = _approx_figures(data)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    else:
        sys.exit(main())
