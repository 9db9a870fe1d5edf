"""NeuroSim V3.0 on-chip training table (MLP+NeuroSim V3.0 manual, Sec. 9, Table II), reproduced.

    .venv/bin/python benchmarks/tables/neurosim_table.py              # the published 125 epochs
    .venv/bin/python benchmarks/tables/neurosim_table.py --epochs 5   # a shorter budget (say so)

Setting: 400-100-10 MLP on MNIST cropped to 20x20, 8,000 training images per epoch, the 10,000
test images. One row per NeuroSim device preset (``memlearn.devices.presets``: exponential LTP/LTD
curves with the table's nonlinearity, levels, on/off ratio and cycle-to-cycle sigma) and two columns:

* ``neurosim``: NeuroSim's conventions (``Train.cpp``, ``Cell.cpp`` ``RealDevice::Write``,
  ``formula.cpp`` ``truncate``, ``Mapping.cpp`` ``WeightInitialize``): one device per weight against
  a medium-conductance reference column (:class:`ReferenceColumnMapping`, ``w = -1 + 2 (G - Gmin) /
  (Gmax - Gmin)``, read as ``w / 2`` as NeuroSim's periphery does, see ``W_MAX``), no biases, sigmoid hidden and output neurons, squared error against the one-hot
  label (``s2 = -2 a (1 - a) (t - a)``), black-and-white inputs (pixel > 0.5, ``numBitInput = 1``),
  initial weights drawn uniformly from {-1, -2/3, ..., 1} and written ideally, SGD on every single
  image with alpha = 0.4 (input->hidden) and 0.2 (hidden->output), each update rounded to the
  device's levels (:class:`NeuroSimPulse`), and each epoch 8,000 images drawn with replacement from
  the 60,000 (``i = rand() % numMnistTrainImages``).
* ``default``: memlearn's defaults: differential pair, stochastic pulses (``StochasticPulse``), tanh
  hidden layer with biases, cross-entropy, batch 10, lr 0.1, the same 8,000 images every epoch.

Not modelled (both columns): NeuroSim's 8-bit partial-sum ADC and its 1-bit hidden activations in
the forward pass (``da1``); the periphery here is ideal.

Output: markdown on stdout and in ``bench-results/neurosim_table{tag}.md``; every finished (device,
column) is appended to ``bench-results/neurosim_table{tag}.jsonl`` as it ends (``--resume`` skips
those already there); the last stdout line is one JSON object ``{device: {published, neurosim,
default}}`` (accuracies in %).

Run time, measured on the shared 2-core machine (one thread, niced, seven users): with ``--batch 10``
50-200 s per epoch and device for ``neurosim`` (per-image rounded writes; slowest for TaOx/HfOx, whose
128 levels leave the most non-zero counts) and 60-105 s for ``default``; ``--batch 1`` (NeuroSim's
exact per-image forward pass) costs several times more (one forward and backward pass per image).
The full 125 epochs x 7 devices x 2 columns is therefore days here, not hours: docs/learning.md
says what was run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import torch
from torch import nn

from memlearn.crossbar.mapping import DifferentialMapping, ReferenceColumnMapping
from memlearn.datasets import load_mnist
from memlearn.devices.presets import get_preset
from memlearn.experiments.training import build_mlp, evaluate, train_epoch
from memlearn.nn.linear import AnalogLinear
from memlearn.nn.tile import TileConfig
from memlearn.rules import AnalogSGD, StochasticPulse
from memlearn.rules.neurosim import NeuroSimPulse

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = {  # MLP+NeuroSim V3.0 user manual, Table II (on-chip accuracy after 125 epochs)
    "Ag_aSi": 72.0, "TaOx_HfOx": 80.0, "PCMO": 33.0, "AlOx_HfO2": 20.0,
    "GST_PCM": 89.0, "EpiRAM": 92.0, "HZO_FeFET": 88.0,
}
SOFTWARE = "96-97"
ALPHA = (0.4, 0.2)  # NeuroSim V3.0 Param.cpp: alpha1 (input->hidden), alpha2 (hidden->output)
# NeuroSim's hardware read of a column is (I - I_ref) / (I_max - I_min) scaled by the rows
# (Train.cpp: CurrentToDigits / DigitsToAlgorithm with the medium-conductance dummy column), i.e.
# sum_k x_k (G - G_mid) / (G_max - G_min) = sum_k x_k w_k / 2 for its weights w in [-1, 1], while
# its backward pass and its updates use w itself. memlearn's layers hold v = w / 2
# (ReferenceColumnMapping with w_max = 0.5), so the forward pass is NeuroSim's; the backward error
# of layer 1 is then half NeuroSim's s1, and NeuroSim's pulse counts alpha |s x| / 2 * L follow
# with lr = alpha1 for layer 1 (half the error, range 1) and lr = alpha2 / 2 for layer 2.
W_MAX = 0.5
LR = (ALPHA[0], ALPHA[1] / 2)


def neurosim_mlp(preset: str, seed: int) -> nn.Sequential:
    """400-100-10 sigmoid MLP without biases on one-device synapses, NeuroSim's initial weights."""
    # One physical array per layer, as NeuroSim's 400x100 and 100x10 arrays (plus the reference column).
    config = TileConfig(device=get_preset(preset), mapping=ReferenceColumnMapping(w_max=W_MAX), array_size=(512, 512))
    init = torch.Generator().manual_seed(seed)
    layers = []
    for i, (n_in, n_out) in enumerate([(400, 100), (100, 10)]):
        layer = AnalogLinear(n_in, n_out, bias=False, config=config, seed=seed + 1000 * i)
        w0 = (torch.randint(0, 7, (n_out, n_in), generator=init) - 3).float() / 3  # NeuroSim's w in [-1, 1]
        layer.tile.set_weights_exact(W_MAX * w0)
        layers += [layer, nn.Sigmoid()]
    return nn.Sequential(*layers)


def run_neurosim(preset: str, data, pool, epochs: int, seed: int, batch: int) -> float:
    model = neurosim_mlp(preset, seed)
    response = get_preset(preset).response
    rule = NeuroSimPulse(levels_ltp=response.n_ltp, levels_ltd=response.n_ltd)
    opts = [AnalogSGD(model[0], lr=LR[0], rule=rule), AnalogSGD(model[2], lr=LR[1], rule=rule)]
    x_pool, t_pool = pool
    draw = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        t0 = time.perf_counter()
        idx = torch.randint(0, x_pool.shape[0], (8000,), generator=draw)
        for start in range(0, 8000, batch):
            i = idx[start:start + batch]
            # sum over the batch: each sample's error is its own (NeuroSim's per-image loss); the
            # rule rounds and writes every sample's update in turn
            loss = (model(x_pool[i]) - t_pool[i]).square().sum()
            loss.backward()
            for opt in opts:
                opt.step()
        print(f"  {preset} neurosim epoch {epoch + 1}/{epochs}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    return evaluate(model, (data.x_test > 0.5).float(), data.y_test)


def run_default(preset: str, data, epochs: int, seed: int) -> float:
    config = TileConfig(device=get_preset(preset), mapping=DifferentialMapping(w_max=1.0))
    model = build_mlp((400, 100, 10), "tanh", config, seed=seed)
    opt = AnalogSGD(model, lr=0.1, rule=StochasticPulse())
    order = torch.Generator().manual_seed(seed)
    x, y = data.x_train[:8000], data.y_train[:8000]
    for _ in range(epochs):
        train_epoch(model, opt, x, y, 10, order)
    return evaluate(model, data.x_test, data.y_test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=125)
    parser.add_argument("--devices", nargs="+", default=list(PUBLISHED), choices=list(PUBLISHED))
    parser.add_argument("--columns", nargs="+", default=["neurosim", "default"], choices=["neurosim", "default"])
    parser.add_argument("--n-test", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    # NeuroSim writes after every image (1). A larger value reads the forward pass of that many
    # images with the same weights, then writes each image's own rounded update in turn (per-image
    # rounding kept; the weights seen by the forward pass lag by up to batch - 1 writes): cheaper.
    parser.add_argument("--batch", type=int, default=1, help="images per forward pass in the neurosim column")
    parser.add_argument("--tag", default="", help="suffix of the output files in bench-results/")
    parser.add_argument("--resume", action="store_true", help="skip (device, column) pairs already in the .jsonl")
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    log = out / f"neurosim_table{args.tag}.jsonl"
    done: dict[tuple[str, str], dict] = {}
    if args.resume and log.exists():
        for line in log.read_text().splitlines():
            rec = json.loads(line)
            if rec["epochs"] == args.epochs and rec.get("batch", 1) == args.batch:
                done[(rec["device"], rec["column"])] = rec
    elif log.exists():
        log.unlink()
    # The 60,000 training images: NeuroSim draws its 8,000 per epoch from all of them; the default
    # column keeps the first 8,000 of a seeded permutation (the same images every epoch).
    data = load_mnist(crop=20, n_test=args.n_test, seed=args.seed)
    perm = torch.randperm(data.x_train.shape[0], generator=torch.Generator().manual_seed(args.seed))
    data = dataclasses.replace(data, x_train=data.x_train[perm], y_train=data.y_train[perm])
    pool = ((data.x_train > 0.5).float(), nn.functional.one_hot(data.y_train, 10).float())
    for column in args.columns:
        for preset in args.devices:
            if (preset, column) in done:
                continue
            t0 = time.perf_counter()
            acc = (run_neurosim(preset, data, pool, args.epochs, args.seed, args.batch) if column == "neurosim"
                   else run_default(preset, data, args.epochs, args.seed))
            rec = {"device": preset, "column": column, "epochs": args.epochs, "batch": args.batch, "accuracy": 100 * acc,
                   "seconds": time.perf_counter() - t0}
            done[(preset, column)] = rec
            with log.open("a") as f:
                f.write(json.dumps(rec) + "\n")
            print(json.dumps(rec), file=sys.stderr, flush=True)
    setting = (f"400-100-10 MLP, MNIST 20x20, 8,000 training images per epoch, {args.n_test} test images, "
               f"{args.epochs} epochs (NeuroSim: 125), neurosim column: forward pass every {args.batch} image(s)")
    lines = [f"### NeuroSim V3.0 Table II, reproduced: {setting}", "",
             "| device | NeuroSim (published) | memlearn, NeuroSim conventions | difference (pp) | memlearn default |",
             "|---|---|---|---|---|"]
    summary: dict[str, dict] = {}
    for preset in args.devices:
        pub = PUBLISHED[preset]
        ns = done.get((preset, "neurosim"), {}).get("accuracy")
        de = done.get((preset, "default"), {}).get("accuracy")
        fmt = lambda v: "-" if v is None else f"{v:.1f}"
        diff = "-" if ns is None else f"{ns - pub:+.1f}"
        lines.append(f"| {preset} | {pub:.0f} | {fmt(ns)} | {diff} | {fmt(de)} |")
        summary[preset] = {"published": pub, "neurosim": ns, "default": de}
    order_pub = sorted(args.devices, key=lambda p: -PUBLISHED[p])
    lines += ["", "Published order:           " + " > ".join(order_pub)]
    for column in ("neurosim", "default"):
        if all((p, column) in done for p in args.devices):
            order = sorted(args.devices, key=lambda p: -done[(p, column)]["accuracy"])
            lines.append(f"memlearn order ({column}): " + " > ".join(order))
    table = "\n".join(lines) + "\n"
    (out / f"neurosim_table{args.tag}.md").write_text(table)
    print(table)
    print(json.dumps({"epochs": args.epochs, "rows": summary}))


if __name__ == "__main__":
    main()
