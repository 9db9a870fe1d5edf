"""Hardware-aware training side by side with IBM aihwkit 1.1.0 on one shared PCM physics.

Data: digits (sklearn, 1,347 / 450 of ``memlearn.datasets.load_digits``), MLP 64-32-10; MNIST-3750
(5,000 images of ``../shared/data/mnist``, seed 0, split 3,750 / 1,250 stratified), MLP
784-256-128-10. A stratified 20% of each training split (seed 0) is the validation split: every
model trains on the other 80%, every configuration choice is made on validation, test is only
reported. Adam (lr 3e-3), batch 32, 30 epochs digits / 10 MNIST, the same data order; HWA models
start from the float model and train as many epochs again (both simulators; Rasch et al., Nat.
Commun. 2023 fine-tune from the digital model). An empty ``--*-grid`` skips that HWA row.

Rows (accuracy over 1 s .. 1 year after programming, mean +- std over ``--chips`` programmings,
global drift compensation on / off):

* ``float``: the float model, digital.
* ``float_converted``: THE SAME float weights on both simulators (memlearn trains them; aihwkit loads
  them), so any gap is the simulators' physics.
  aihwkit: ``InferenceRPUConfig()`` defaults (``PCMLikeNoiseModel(g_max=25)``, 7-bit DAC with abs-max
  noise management, 9-bit ADC at +-12, output noise 0.06, iterative bound management,
  ``GlobalDriftCompensation``) with the mapping of aihwkit's HWA preset
  (``weight_scaling_omega=1``, column-wise; 512-row tiles). memlearn: preset ``PCM_like`` (the same
  fits, ``memlearn.devices.pcm_like``), the same periphery (``DAC(7)``, ``ADC(9, 12)``, ``abs_max``,
  ``BoundManagement()``, ``output_noise=0.06``, column scale, 392-row arrays so 784 inputs split in
  two like aihwkit's tiles).
* ``hwa``: hardware-aware training, each simulator at its documented best, the knob chosen on
  validation (accuracy at 1 year, compensated, ``--val-chips`` programmings).
  aihwkit (its HWA examples and ``StandardHWATrainingPreset``): the config above plus
  ``learn_out_scaling`` (column-wise), ``WeightClipType.LAYER_GAUSSIAN`` (sigma 2.5),
  ``WeightModifierType.ADD_NORMAL`` with std in ``--aihwkit-grid`` (0.02 0.05 0.1).
  memlearn: ``config_for_chip(chip, quantize_io=True, drift=True, noise_scale=s)`` (the chip's
  statistical PCM model, DAC/ADC and output noise injected), ``s`` in ``--memlearn-grid`` (0.5 1 2).
* ``pcm_preset``: memlearn's own ``PCM`` preset (write-verify programming of a pulse model, drift
  nu ~ N(0.05, 0.02), 2% read noise, ideal periphery), float-converted and HWA as before.

aihwkit runs as a subprocess in its own environment (torch 2.10.0): ``$MEMLEARN_AIHWKIT_PY``, else
``.venv-aihwkit/bin/python`` in this checkout; without it the aihwkit rows read "not installed".
Prints progress to stderr and one JSON object as its last stdout line.

    nice -n 10 .venv/bin/python benchmarks/bench_aihwkit_hwa.py [--chips 10] [--datasets digits mnist]

Run time (2026-12-02, shared 2-core machine under load ~18, one torch thread per process):
digits with every row 415-688 s; MNIST float-converted rows only (``--datasets mnist --aihwkit-grid
--memlearn-grid --no-pcm-preset``) 402 s; the MNIST HWA grids (3 + 3 trainings of 784-256-128-10)
did not finish in an hour there and were not measured.
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
TIMES = [1.0, 3600.0, 86400.0, 30 * 86400.0, 365 * 86400.0]
LABELS = ["1 s", "1 h", "1 day", "1 month", "1 year"]

_AIHWKIT_SCRIPT = r'''
import copy, json, sys, time
import numpy as np, torch
from torch import nn
torch.set_num_threads(1)
from aihwkit.nn.conversion import convert_to_analog
from aihwkit.optim import AnalogAdam
from aihwkit.simulator.configs import InferenceRPUConfig
from aihwkit.simulator.parameters.enums import WeightModifierType, WeightClipType
from aihwkit.inference import PCMLikeNoiseModel, GlobalDriftCompensation
z = np.load(sys.argv[1]); a = json.loads(sys.argv[2])
T = lambda k, dt=torch.float32: torch.tensor(z[k], dtype=dt)
xtr, ytr, xva, yva, xte, yte = T("x_train"), T("y_train", torch.int64), T("x_val"), T("y_val", torch.int64), T("x_test"), T("y_test", torch.int64)
sizes, times = a["sizes"], a["times"]

def float_mlp(load):
    torch.manual_seed(0)
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    m = nn.Sequential(*layers)
    if load:
        with torch.no_grad():
            for i, l in enumerate([l for l in m if isinstance(l, nn.Linear)]):
                l.weight.copy_(T(f"w{i}")); l.bias.copy_(T(f"b{i}"))
    return m

def rpu(compensate, hwa_std):
    c = InferenceRPUConfig()
    c.noise_model = PCMLikeNoiseModel(g_max=25.0)
    c.drift_compensation = GlobalDriftCompensation() if compensate else None
    c.mapping.weight_scaling_omega = 1.0
    c.mapping.weight_scaling_columnwise = True
    if hwa_std is not None:
        c.mapping.learn_out_scaling = True
        c.mapping.out_scaling_columnwise = True
        c.clip.type = WeightClipType.LAYER_GAUSSIAN
        c.clip.sigma = 2.5
        c.modifier.type = WeightModifierType.ADD_NORMAL
        c.modifier.std_dev = hwa_std
        c.modifier.rel_to_actual_wmax = True
    return c

def train(model):
    opt = AnalogAdam(model.parameters(), lr=3e-3)
    opt.regroup_param_groups(model)
    g = torch.Generator().manual_seed(0)
    for _ in range(a["epochs"]):
        model.train()
        perm = torch.randperm(len(xtr), generator=g)
        for s in range(0, len(xtr), 32):
            idx = perm[s:s + 32]
            opt.zero_grad(); nn.functional.cross_entropy(model(xtr[idx]), ytr[idx]).backward(); opt.step()
    return model

def acc(model, x, y):
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())

def drift_eval(model, x, y, chips, ts, seed):
    out = np.zeros((chips, len(ts)))
    model.eval()
    for c in range(chips):
        torch.manual_seed(seed + c)
        model.program_analog_weights()
        for j, t in enumerate(ts):
            model.drift_analog_weights(t)
            out[c, j] = acc(model, x, y)
    return out.tolist()

def both(model):
    out = {}
    for comp in (True, False):  # the same model, drift compensation switched in every tile's config
        for tile in model.analog_tiles():
            tile.rpu_config.drift_compensation = GlobalDriftCompensation() if comp else None
        out[f"comp{int(comp)}"] = drift_eval(model, xte, yte, a["chips"], times, 100)
    return out

res = {}
t0 = time.perf_counter()
fm = float_mlp(True).eval()
res["float_test_accuracy"] = acc(fm, xte, yte)
res["float_converted"] = both(convert_to_analog(copy.deepcopy(fm), rpu(True, None)))
res["seconds_float_converted"] = time.perf_counter() - t0
grid, trained = {}, {}
for std in a["grid"]:
    t1 = time.perf_counter()
    m = train(convert_to_analog(float_mlp(True), rpu(True, std)))  # fine-tuned from the float model
    trained[std] = m
    grid[str(std)] = {"val_1y_comp": float(np.mean(drift_eval(m, xva, yva, a["val_chips"], [times[-1]], 900))),
                      "seconds": time.perf_counter() - t1}
    print(json.dumps({"aihwkit_grid": std, **grid[str(std)]}), file=sys.stderr, flush=True)
if a["grid"]:
    best = max(a["grid"], key=lambda s: grid[str(s)]["val_1y_comp"])
    res["hwa"] = {"grid": grid, "chosen": best, **both(trained[best])}
res["seconds"] = time.perf_counter() - t0
print(json.dumps(res))
'''


def _aihwkit_python() -> Path:
    env = os.environ.get("MEMLEARN_AIHWKIT_PY")
    return Path(env) if env else ROOT / ".venv-aihwkit" / "bin" / "python"


def _mnist_subset():
    from sklearn.model_selection import train_test_split

    from memlearn.datasets import Dataset, load_mnist

    d = load_mnist(n_train=5000, n_test=1, seed=0)
    x, y = d.x_train.numpy(), d.y_train.numpy()
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)
    t = lambda a, dt: torch.tensor(a, dtype=dt)
    return Dataset(t(x_tr, torch.float32), t(y_tr, torch.int64), t(x_te, torch.float32), t(y_te, torch.int64), (28, 28))


def _split_validation(data) -> dict[str, torch.Tensor]:
    """80 / 20 stratified split of the training set (seed 0); test kept apart."""
    from sklearn.model_selection import train_test_split

    idx_tr, idx_va = train_test_split(np.arange(len(data.y_train)), test_size=0.2, random_state=0,
                                      stratify=data.y_train.numpy())
    idx_tr, idx_va = torch.tensor(idx_tr), torch.tensor(idx_va)
    return {"x_train": data.x_train[idx_tr], "y_train": data.y_train[idx_tr], "x_val": data.x_train[idx_va],
            "y_val": data.y_train[idx_va], "x_test": data.x_test, "y_test": data.y_test}


def _stats(acc) -> dict:
    acc = np.asarray(acc)
    return {label: [float(acc[:, j].mean()), float(acc[:, j].std(ddof=1) if len(acc) > 1 else 0.0)]
            for j, label in enumerate(LABELS)}


def _rows(comp, uncomp) -> dict:
    return {"compensated": _stats(comp), "uncompensated": _stats(uncomp)}


def run_aihwkit(split: dict, float_model, sizes: list[int], epochs: int, chips: int, val_chips: int,
                grid: list[float]) -> dict:
    py = _aihwkit_python()
    if not py.exists():
        return {"status": "not installed", "hint": "set MEMLEARN_AIHWKIT_PY or create .venv-aihwkit (python3.11, "
                "torch==2.10.0, aihwkit==1.1.0); recipe in docs/hardware_aware.md"}
    linears = [m for m in float_model.modules() if isinstance(m, torch.nn.Linear)]
    arrays = {k: v.numpy() for k, v in split.items()}
    for i, m in enumerate(linears):
        arrays[f"w{i}"], arrays[f"b{i}"] = m.weight.detach().numpy(), m.bias.detach().numpy()
    args = dict(sizes=sizes, times=TIMES, epochs=epochs, chips=chips, val_chips=val_chips, grid=grid)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.npz"
        np.savez(path, **arrays)
        proc = subprocess.run([str(py), "-c", _AIHWKIT_SCRIPT, str(path), json.dumps(args)], capture_output=True,
                              text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"status": "failed", "error": proc.stderr[-1500:]}
    raw = json.loads(lines[-1])
    fc = raw["float_converted"]
    out = {"status": "ok", "float_test_accuracy": raw["float_test_accuracy"], "seconds": raw["seconds"],
           "float_converted": _rows(fc["comp1"], fc["comp0"])}
    if "hwa" in raw:
        hw = raw["hwa"]
        out["hwa"] = {"chosen_modifier_std": hw["chosen"], "grid": hw["grid"], **_rows(hw["comp1"], hw["comp0"])}
    return out


def shared_chip():
    """memlearn's twin of aihwkit's default inference tile on the PCM-like physics."""
    from memlearn.crossbar.mapping import DifferentialMapping
    from memlearn.devices.presets import get_preset
    from memlearn.hardware_aware import ChipConfig
    from memlearn.nn import TileConfig
    from memlearn.periphery import ADC, DAC
    from memlearn.periphery.management import BoundManagement

    tile = TileConfig(device=get_preset("PCM_like"), mapping=DifferentialMapping(scale="column"), dac=DAC(bits=7),
                      adc=ADC(bits=9, output_range=12.0), noise_management="abs_max",
                      bound_management=BoundManagement(max_repeats=4), output_noise=0.06, array_size=(392, 512))
    return ChipConfig(tile=tile, pair_placement="min")


def pcm_preset_chip():
    from memlearn.crossbar.programming import WriteVerify
    from memlearn.devices.presets import get_preset
    from memlearn.hardware_aware import ChipConfig
    from memlearn.nn import TileConfig

    tile = TileConfig(device=get_preset("PCM"), programmer=WriteVerify(tolerance=0.05, max_iterations=30))
    return ChipConfig(tile=tile, pair_placement="min")


def _train(sizes, split, epochs, config=None, init=None):
    """Train from the seed-0 initialisation, or fine-tune a copy of ``init`` (HWA starts from the float model)."""
    import copy

    from memlearn.hardware_aware import prepare_hardware_aware
    from memlearn.hardware_aware.training import build_model, fit

    model = build_model("mlp", sizes[0], sizes[-1], hidden=tuple(sizes[1:-1]), seed=0) if init is None else copy.deepcopy(init)
    if config is not None:
        prepare_hardware_aware(model, config, seed=0)
    return fit(model, split["x_train"], split["y_train"], epochs=epochs, batch_size=32, lr=3e-3, seed=0)


def _evaluate(model, chip, x, y, chips, times=None):
    from memlearn.hardware_aware import evaluate_over_time

    times = times or dict(zip(LABELS, TIMES))
    return evaluate_over_time(model, chip, x, y, n_chips=chips, times=times)


def run_memlearn(split: dict, float_model, sizes: list[int], epochs: int, chips: int, val_chips: int,
                 grid: list[float], pcm_preset: bool) -> dict:
    import dataclasses

    from memlearn.hardware_aware import config_for_chip, estimate_programming_noise

    t0 = time.perf_counter()
    chip = dataclasses.replace(shared_chip(), seed=100)
    ev = _evaluate(float_model, chip, split["x_test"], split["y_test"], chips)
    out: dict = {"status": "ok", "float_converted": _rows(ev.compensated, ev.uncompensated),
                 "seconds_float_converted": time.perf_counter() - t0}
    scored, models = {}, {}
    for s in grid:
        t1 = time.perf_counter()
        models[s] = _train(sizes, split, epochs, config_for_chip(chip, quantize_io=True, drift=True, noise_scale=s),
                           init=float_model)
        val = _evaluate(models[s], dataclasses.replace(chip, seed=900), split["x_val"], split["y_val"], val_chips,
                        {"1 year": TIMES[-1]})
        scored[str(s)] = {"val_1y_comp": float(val.compensated.mean()), "seconds": time.perf_counter() - t1}
        print("# memlearn grid " + json.dumps({str(s): scored[str(s)]}), file=sys.stderr, flush=True)
    if grid:
        best = max(grid, key=lambda s: scored[str(s)]["val_1y_comp"])
        ev = _evaluate(models[best], chip, split["x_test"], split["y_test"], chips)
        out["hwa"] = {"chosen_noise_scale": best, "grid": scored, **_rows(ev.compensated, ev.uncompensated)}
    print("# memlearn shared physics: " + json.dumps(out), file=sys.stderr, flush=True)
    if pcm_preset:
        pcm = pcm_preset_chip()
        hw = config_for_chip(pcm, quantize_weights=True, level_spacing="device",
                             programming_noise=estimate_programming_noise(pcm), read_noise=True, drift=True)
        ev = _evaluate(float_model, pcm, split["x_test"], split["y_test"], chips)
        out["pcm_preset"] = {"float_converted": _rows(ev.compensated, ev.uncompensated)}
        ev = _evaluate(_train(sizes, split, epochs, hw, init=float_model), pcm, split["x_test"], split["y_test"], chips)
        out["pcm_preset"]["hwa"] = _rows(ev.compensated, ev.uncompensated)
    out["seconds"] = time.perf_counter() - t0
    return out


def agreement(memlearn: dict, aihwkit: dict) -> dict:
    """memlearn minus aihwkit, float-converted, percentage points, per time and compensation."""
    if aihwkit.get("status") != "ok":
        return {}
    return {mode: {label: 100 * (memlearn["float_converted"][mode][label][0] - aihwkit["float_converted"][mode][label][0])
                   for label in LABELS} for mode in ("compensated", "uncompensated")}


def _cell(rows: dict | None, label: str = "1 year") -> str:
    if not rows:
        return "not run"
    c, u = rows["compensated"][label], rows["uncompensated"][label]
    return f"{100 * c[0]:.1f} +- {100 * c[1]:.1f} / {100 * u[0]:.1f} +- {100 * u[1]:.1f}"


def markdown(results: dict) -> str:
    """The tables of docs/hardware_aware.md: rows at one year, then the agreement per time."""
    lines = ["| data | float | aihwkit float-conv. | memlearn float-conv. | aihwkit HWA (chosen) | memlearn HWA (chosen) "
             "| memlearn PCM preset float-conv. | memlearn PCM preset HWA |", "|" + "---|" * 8]
    agree = ["| data | compensation | " + " | ".join(LABELS) + " |", "|" + "---|" * (2 + len(LABELS))]
    for name in [k for k in results if isinstance(results[k], dict) and "network" in results[k]]:
        r = results[name]
        a, m = r.get("aihwkit", {}), r.get("memlearn", {})
        ok = a.get("status") == "ok"
        ah = a.get("hwa") if ok else None
        mh = m.get("hwa")
        pcm = m.get("pcm_preset", {})
        a_hwa = _cell(ah) + (f" (std {ah['chosen_modifier_std']})" if ah else "")
        m_hwa = _cell(mh) + (f" (scale {mh['chosen_noise_scale']})" if mh else "")
        lines.append(f"| {name} {r['network']} | {100 * r['float_test_accuracy']:.1f} | "
                     f"{_cell(a.get('float_converted') if ok else None)} | {_cell(m.get('float_converted'))} | "
                     f"{a_hwa} | {m_hwa} | {_cell(pcm.get('float_converted'))} | {_cell(pcm.get('hwa'))} |")
        for mode, diffs in r.get("agreement_pp", {}).items():
            agree.append(f"| {name} | {mode} | " + " | ".join(f"{diffs[l]:+.2f}" for l in LABELS) + " |")
    return "\n".join(lines + [""] + agree)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chips", type=int, default=10)
    parser.add_argument("--val-chips", type=int, default=3)
    parser.add_argument("--datasets", nargs="+", default=["digits", "mnist"])
    parser.add_argument("--epochs-digits", type=int, default=30)
    parser.add_argument("--epochs-mnist", type=int, default=10)
    parser.add_argument("--aihwkit-grid", type=float, nargs="*", default=[0.02, 0.05, 0.1])
    parser.add_argument("--memlearn-grid", type=float, nargs="*", default=[0.5, 1.0, 2.0])
    parser.add_argument("--no-pcm-preset", action="store_true", help="skip the rows of memlearn's PCM preset")
    parser.add_argument("--only", choices=["both", "memlearn", "aihwkit"], default="both")
    args = parser.parse_args()
    torch.set_num_threads(1)
    from memlearn.datasets import load_digits
    from memlearn.hardware_aware import accuracy

    results: dict = {"chips": args.chips, "val_chips": args.val_chips, "times": LABELS}
    t_start = time.perf_counter()
    for name in args.datasets:
        if name == "digits":
            data, sizes, epochs = load_digits(), [64, 32, 10], args.epochs_digits
        else:
            data, sizes, epochs = _mnist_subset(), [784, 256, 128, 10], args.epochs_mnist
        split = _split_validation(data)
        float_model = _train(sizes, split, epochs)
        row = {"network": "-".join(map(str, sizes)), "epochs": epochs, "n_train": len(split["y_train"]),
               "n_val": len(split["y_val"]), "n_test": len(split["y_test"]),
               "float_test_accuracy": accuracy(float_model, split["x_test"], split["y_test"])}
        if args.only in ("both", "aihwkit"):
            row["aihwkit"] = run_aihwkit(split, float_model, sizes, epochs, args.chips, args.val_chips, args.aihwkit_grid)
            print(f"# {name} aihwkit: " + json.dumps(row["aihwkit"]), file=sys.stderr, flush=True)
        if args.only in ("both", "memlearn"):
            row["memlearn"] = run_memlearn(split, float_model, sizes, epochs, args.chips, args.val_chips,
                                           args.memlearn_grid, not args.no_pcm_preset)
            print(f"# {name} memlearn: " + json.dumps(row["memlearn"]), file=sys.stderr, flush=True)
        if args.only == "both":
            row["agreement_pp"] = agreement(row["memlearn"], row["aihwkit"])
        results[name] = row
    results["seconds"] = time.perf_counter() - t_start
    print(markdown(results))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
