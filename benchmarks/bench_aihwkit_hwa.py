"""Hardware-aware training side by side with IBM aihwkit 1.1.0: accuracy over drift time.

Same networks, data and training budget for both simulators:
  * digits (sklearn, 1,347 / 450 split of ``memlearn.datasets.load_digits``), MLP 64-32-10 (ReLU);
  * MNIST subset: 5,000 images drawn from ``../shared/data/mnist`` (seed 0), split 3,750 / 1,250
    (``train_test_split(test_size=0.25, random_state=0, stratify=y)``), MLP 784-256-128-10 (ReLU).
Adam (lr 3e-3), batch 32, ``--epochs`` epochs (default 30 digits / 10 MNIST), the same data order.

aihwkit: a float-trained model converted with ``InferenceRPUConfig`` (defaults: PCM-like
statistical noise model ``PCMLikeNoiseModel(g_max=25)``, 7-bit DAC / 9-bit ADC, output noise,
global drift compensation) and a hardware-aware model trained with the same config plus weight
noise injection (``modifier = ADD_NORMAL``, std 0.1 of the clip range, ``clip = FIXED_VALUE 1.0``,
the settings of aihwkit's HWA examples), each programmed ``--chips`` times and read at
1 s, 1 h, 1 day, 1 month, 1 year with and without compensation. aihwkit runs as a subprocess in
its own environment ``.venv-aihwkit`` (torch 2.10.0; recipe in docs/hardware_aware.md); without
it the aihwkit rows read "not installed".

memlearn: the same two models on the ``PCM`` preset (write-verify programming, pairs placed with
the idle device at g_min, drift nu ~ N(0.05, 0.02), read noise), hardware-aware training =
device-level quantisation + measured programming noise + read noise + drift injection.
The two simulators use different PCM models, so compare the drop from the float accuracy and the
compensation gain rather than the absolute numbers. Prints one JSON object as its last line.

    .venv/bin/python benchmarks/bench_aihwkit_hwa.py [--chips 10] [--datasets digits mnist]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
AIHWKIT_PY = ROOT / ".venv-aihwkit" / "bin" / "python"
TIMES = [1.0, 3600.0, 86400.0, 30 * 86400.0, 365 * 86400.0]
LABELS = ["1 s", "1 h", "1 day", "1 month", "1 year"]

_AIHWKIT_SCRIPT = r'''
import copy, json, sys, time
import numpy as np, torch
from torch import nn
torch.set_num_threads(1)
from aihwkit.nn import AnalogSequential
from aihwkit.nn.conversion import convert_to_analog
from aihwkit.optim import AnalogAdam
from aihwkit.simulator.configs import InferenceRPUConfig
from aihwkit.simulator.parameters.enums import WeightModifierType, WeightClipType
from aihwkit.inference import PCMLikeNoiseModel, GlobalDriftCompensation
z = np.load(sys.argv[1]); epochs, chips = int(sys.argv[2]), int(sys.argv[3]); sizes = json.loads(sys.argv[4])
times = json.loads(sys.argv[5])
xtr, ytr = torch.tensor(z["x_train"]), torch.tensor(z["y_train"])
xte, yte = torch.tensor(z["x_test"]), torch.tensor(z["y_test"])

def float_mlp():
    torch.manual_seed(0)
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)

def rpu(compensate, hwa):
    c = InferenceRPUConfig()
    c.noise_model = PCMLikeNoiseModel(g_max=25.0)
    c.drift_compensation = GlobalDriftCompensation() if compensate else None
    if hwa:
        c.modifier.type = WeightModifierType.ADD_NORMAL
        c.modifier.std_dev = 0.1
        c.clip.type = WeightClipType.FIXED_VALUE
        c.clip.fixed_value = 1.0
        c.mapping.weight_scaling_omega = 1.0
    return c

def train(model, analog):
    opt = AnalogAdam(model.parameters(), lr=3e-3) if analog else torch.optim.Adam(model.parameters(), lr=3e-3)
    if analog:
        opt.regroup_param_groups(model)
    g = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=g)
        for s in range(0, len(xtr), 32):
            idx = perm[s:s + 32]
            opt.zero_grad(); nn.functional.cross_entropy(model(xtr[idx]), ytr[idx]).backward(); opt.step()
    return model

def acc(model):
    with torch.no_grad():
        return float((model(xte).argmax(1) == yte).float().mean())

def drift_eval(model):
    out = np.zeros((chips, len(times)))
    model.eval()
    for c in range(chips):
        torch.manual_seed(100 + c)
        model.program_analog_weights()
        for j, t in enumerate(times):
            model.drift_analog_weights(t)
            out[c, j] = acc(model)
    return out

res = {}
t0 = time.perf_counter()
fm = train(float_mlp(), False)
res["float_test_accuracy"] = acc(fm.eval())
for comp in (True, False):
    am = convert_to_analog(copy.deepcopy(fm), rpu(comp, False))
    res[f"float_converted_comp{int(comp)}"] = drift_eval(am).tolist()
hw = train(convert_to_analog(float_mlp(), rpu(True, True)), True)
for comp in (True, False):
    m = convert_to_analog(float_mlp(), rpu(comp, True))
    m.load_state_dict(hw.state_dict(), load_rpu_config=False, strict_rpu_config_check=False)
    res[f"hwa_comp{int(comp)}"] = drift_eval(m).tolist()
res["seconds"] = time.perf_counter() - t0
print(json.dumps(res))
'''


def _mnist_subset():
    from sklearn.model_selection import train_test_split

    from memlearn.datasets import load_mnist

    d = load_mnist(n_train=5000, n_test=1, seed=0)
    x, y = d.x_train.numpy(), d.y_train.numpy()
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)
    t = lambda a, dt: torch.tensor(a, dtype=dt)
    from memlearn.datasets import Dataset

    return Dataset(t(x_tr, torch.float32), t(y_tr, torch.int64), t(x_te, torch.float32), t(y_te, torch.int64), (28, 28))


def _stats(acc: np.ndarray) -> dict:
    return {label: [float(acc[:, j].mean()), float(acc[:, j].std(ddof=1) if len(acc) > 1 else 0.0)]
            for j, label in enumerate(LABELS)}


def run_aihwkit(data, sizes: list[int], epochs: int, chips: int) -> dict:
    if not AIHWKIT_PY.exists():
        return {"status": "not installed", "hint": "python3.11 -m venv .venv-aihwkit && .venv-aihwkit/bin/pip install "
                "torch==2.10.0 && .venv-aihwkit/bin/pip install --no-deps aihwkit==1.1.0 numpy scipy scikit-learn tqdm protobuf requests"}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.npz"
        np.savez(path, x_train=data.x_train.numpy(), y_train=data.y_train.numpy(), x_test=data.x_test.numpy(),
                 y_test=data.y_test.numpy())
        proc = subprocess.run([str(AIHWKIT_PY), "-c", _AIHWKIT_SCRIPT, str(path), str(epochs), str(chips),
                               json.dumps(sizes), json.dumps(TIMES)], capture_output=True, text=True)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"status": "failed", "error": proc.stderr[-1500:]}
    raw = json.loads(lines[-1])
    out = {"status": "ok", "float_test_accuracy": raw["float_test_accuracy"], "seconds": raw["seconds"]}
    for key in ("float_converted", "hwa"):
        out[key] = {"compensated": _stats(np.array(raw[f"{key}_comp1"])),
                    "uncompensated": _stats(np.array(raw[f"{key}_comp0"]))}
    return out


def run_memlearn(data, sizes: list[int], epochs: int, chips: int) -> dict:
    from memlearn.crossbar.programming import WriteVerify
    from memlearn.devices.presets import get_preset
    from memlearn.hardware_aware import (ChipConfig, accuracy, config_for_chip, estimate_programming_noise,
                                         evaluate_over_time, prepare_hardware_aware)
    from memlearn.hardware_aware.training import build_model, fit
    from memlearn.nn import TileConfig

    tile = TileConfig(device=get_preset("PCM"), programmer=WriteVerify(tolerance=0.05, max_iterations=30))
    chip = ChipConfig(tile=tile, pair_placement="min")
    hw = config_for_chip(chip, quantize_weights=True, level_spacing="device",
                         programming_noise=estimate_programming_noise(chip), read_noise=True, drift=True)
    t0 = time.perf_counter()
    out: dict = {"status": "ok"}
    for key, config in (("float_converted", None), ("hwa", hw)):
        model = build_model("mlp", sizes[0], sizes[-1], hidden=tuple(sizes[1:-1]), seed=0)
        if config is not None:
            prepare_hardware_aware(model, config, seed=0)
        fit(model, data.x_train, data.y_train, epochs=epochs, batch_size=32, lr=3e-3, seed=0)
        if config is None:
            out["float_test_accuracy"] = accuracy(model, data.x_test, data.y_test)
        ev = evaluate_over_time(model, chip, data.x_test, data.y_test, n_chips=chips, times=dict(zip(LABELS, TIMES)))
        out[key] = {"compensated": _stats(ev.compensated.numpy()), "uncompensated": _stats(ev.uncompensated.numpy())}
    out["seconds"] = time.perf_counter() - t0
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chips", type=int, default=10)
    parser.add_argument("--datasets", nargs="+", default=["digits", "mnist"])
    parser.add_argument("--epochs-digits", type=int, default=30)
    parser.add_argument("--epochs-mnist", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    from memlearn.datasets import load_digits

    results: dict = {"chips": args.chips, "times": LABELS}
    for name in args.datasets:
        if name == "digits":
            data, sizes, epochs = load_digits(), [64, 32, 10], args.epochs_digits
        else:
            data, sizes, epochs = _mnist_subset(), [784, 256, 128, 10], args.epochs_mnist
        results[name] = {"network": "-".join(map(str, sizes)), "epochs": epochs,
                         "aihwkit": run_aihwkit(data, sizes, epochs, args.chips),
                         "memlearn": run_memlearn(data, sizes, epochs, args.chips)}
        print(f"# {name}: " + json.dumps(results[name]), file=sys.stderr, flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
