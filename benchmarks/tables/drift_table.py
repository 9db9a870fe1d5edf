"""Issue 6 tables: accuracy over drift time for four training variants on two presets, and a
stuck-at fault sweep with and without fault-aware training.

Drift table: (a) float training, (b) quantisation only (the device's own level spacing),
(c) noise injection (programming error measured from the chip's write-verify, read noise, drift
with global compensation), (d) all of it; each deployed with write-verify on ``--chips`` chip
instances of the ``PCM`` and ``ReRAM_SB`` presets (idle device of each pair at g_min) and read at
1 s, 1 h, 1 day, 1 month, 1 year, with and without global drift compensation.
Networks: digits MLP 64-32-10 (1,347 / 450 split) and a small CNN on an MNIST subset
(5,000 images of ``../shared/data/mnist``, seed 0, split 3,750 / 1,250 stratified;
conv 1->8 5x5/2, conv 8->16 5x5/2, linear 256->10).
Fault sweep: digits MLP on ReRAM_SB with stuck-at faults (half at g_min, half at g_max), 0-20%,
plain vs fault-aware training, with per-column gain/offset calibration after programming.

Writes runs/tables/hardware_aware/{drift_table.md, fault_table.md, rows.jsonl} and prints one
JSON object as its last line.

    .venv/bin/python benchmarks/tables/drift_table.py [--chips 10] [--mnist-epochs 8] [--skip-mnist]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import torch

from memlearn.crossbar.programming import WriteVerify
from memlearn.datasets import Dataset, load_digits, load_mnist
from memlearn.devices.faults import Faults
from memlearn.devices.presets import get_preset
from memlearn.hardware_aware import (DRIFT_TIMES, ChipConfig, accuracy, config_for_chip, estimate_programming_noise,
                                     evaluate_over_time, prepare_hardware_aware)
from memlearn.hardware_aware.training import build_model, fit
from memlearn.nn import TileConfig

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "runs" / "tables" / "hardware_aware"
VARIANTS = ("float", "quantised", "noise", "all")


def mnist_subset() -> Dataset:
    from sklearn.model_selection import train_test_split

    d = load_mnist(n_train=5000, n_test=1, seed=0)
    x, y = d.x_train.numpy(), d.y_train.numpy()
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)
    t = lambda a, dt: torch.tensor(a, dtype=dt)
    return Dataset(t(x_tr, torch.float32), t(y_tr, torch.int64), t(x_te, torch.float32), t(y_te, torch.int64), (28, 28))


def chip_for(preset: str, faults: Faults | None = None) -> ChipConfig:
    device = get_preset(preset)
    if faults is not None:
        device = dataclasses.replace(device, faults=faults)
    tile = TileConfig(device=device, programmer=WriteVerify(tolerance=0.05, max_iterations=30))
    return ChipConfig(tile=tile, pair_placement="min")


def variant_config(variant: str, chip: ChipConfig, noise):
    quant = variant in ("quantised", "all")
    inject = variant in ("noise", "all")
    if variant == "float":
        return None
    return config_for_chip(chip, quantize_weights=quant, level_spacing="device",
                           programming_noise=noise if inject else None, read_noise=inject, drift=inject,
                           faults=variant == "all")


def train(data: Dataset, architecture: str, config, epochs: int, seed: int = 0):
    model = build_model(architecture, data.n_features, data.n_classes, hidden=(32,), image_shape=data.image_shape,
                        seed=seed)
    if config is not None:
        prepare_hardware_aware(model, config, seed=seed)
    return fit(model, data.x_train, data.y_train, epochs=epochs, batch_size=32, lr=3e-3, seed=seed)


def fmt(mean: float, std: float) -> str:
    return f"{100 * mean:.1f} +- {100 * std:.1f}"


def drift_rows(args, log) -> list[str]:
    lines = ["| data / network | device | training | float acc | " + " | ".join(DRIFT_TIMES) + " | 1 year, no comp. |",
             "|" + "---|" * (5 + len(DRIFT_TIMES))]
    sets = [("digits MLP 64-32-10", load_digits(), "mlp", args.digits_epochs)]
    if not args.skip_mnist:
        sets.append(("MNIST-3750 CNN", mnist_subset(), "cnn", args.mnist_epochs))
    for label, data, arch, epochs in sets:
        float_model = None
        for preset in args.presets:
            chip = chip_for(preset)
            noise = estimate_programming_noise(chip)
            for variant in VARIANTS:
                t0 = time.perf_counter()
                if variant == "float":
                    float_model = float_model or train(data, arch, None, epochs)
                    model = float_model
                else:
                    model = train(data, arch, variant_config(variant, chip, noise), epochs)
                f_acc = accuracy(model, data.x_test, data.y_test)
                ev = evaluate_over_time(model, chip, data.x_test, data.y_test, n_chips=args.chips)
                rows = ev.rows()
                cells = [fmt(r["mean_compensated"], r["std_compensated"]) for r in rows]
                lines.append(f"| {label} | {preset} | {variant} | {100 * f_acc:.1f} | " + " | ".join(cells)
                             + f" | {fmt(rows[-1]['mean'], rows[-1]['std'])} |")
                log({"table": "drift", "data": label, "preset": preset, "variant": variant, "float_accuracy": f_acc,
                     "rows": rows, "injected_noise": noise.additive, "seconds": time.perf_counter() - t0,
                     "weight_error": sum(r.weight_error for r in ev.reports) / len(ev.reports)})
                print(lines[-1], file=sys.stderr, flush=True)
    return lines


def fault_rows(args, log) -> list[str]:
    data = load_digits()
    x_cal = data.x_train[:64]
    lines = ["| stuck-at fraction | plain | plain + column calib. | fault-aware | fault-aware + column calib. |",
             "|---|---|---|---|---|"]
    plain = train(data, "mlp", None, args.digits_epochs)
    for frac in args.fault_fractions:
        chip = chip_for("ReRAM_SB", Faults(stuck_at_gmin=frac / 2, stuck_at_gmax=frac / 2))
        aware = plain if frac == 0 else train(data, "mlp", config_for_chip(chip, faults=True), args.digits_epochs)
        cells = []
        for model in (plain, aware):
            for cal in (None, x_cal):
                ev = evaluate_over_time(model, chip, data.x_test, data.y_test, n_chips=args.chips,
                                        times={"1 s": 1.0}, calibration_inputs=cal)
                r = ev.rows()[0]
                cells.append(fmt(r["mean"], r["std"]))
                log({"table": "faults", "fraction": frac, "fault_aware": model is aware and frac > 0,
                     "calibrated": cal is not None, "mean": r["mean"], "std": r["std"]})
        lines.append(f"| {100 * frac:.0f}% | " + " | ".join(cells) + " |")
        print(lines[-1], file=sys.stderr, flush=True)
    return lines


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chips", type=int, default=10)
    parser.add_argument("--digits-epochs", type=int, default=30)
    parser.add_argument("--mnist-epochs", type=int, default=8)
    parser.add_argument("--presets", nargs="+", default=["PCM", "ReRAM_SB"])
    parser.add_argument("--fault-fractions", nargs="+", type=float, default=[0.0, 0.05, 0.1, 0.15, 0.2])
    parser.add_argument("--skip-mnist", action="store_true")
    parser.add_argument("--skip-faults", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    records = open(OUT / "rows.jsonl", "w")

    def log(rec: dict) -> None:
        records.write(json.dumps(rec) + "\n")
        records.flush()

    t0 = time.perf_counter()
    drift = drift_rows(args, log)
    (OUT / "drift_table.md").write_text("\n".join(drift) + "\n")
    print("\n".join(drift))
    faults = [] if args.skip_faults else fault_rows(args, log)
    if faults:
        (OUT / "fault_table.md").write_text("\n".join(faults) + "\n")
        print("\n".join(faults))
    records.close()
    print(json.dumps({"drift_table": str(OUT / "drift_table.md"), "fault_table": str(OUT / "fault_table.md"),
                      "chips": args.chips, "seconds": time.perf_counter() - t0}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
