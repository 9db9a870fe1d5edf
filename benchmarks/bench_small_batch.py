"""Training step of the analog 784-256-128-10 tanh MLP of ``bench_aihwkit.py`` at batch 10, in parts.

Per batch of a training run (``AnalogSGD`` with ``StochasticPulse``, batched or, with
``--per-sample``, aihwkit's per-sample semantics; MNIST as in ``bench_aihwkit.py``, random images
where the data set is missing):

* ``write_ms``: ``model(x)``, the loss and ``loss.backward()`` (every tile's forward and backward
  read) right after the previous batch's update, so every tile rebuilds its cached read statistics;
* ``static_ms``: the same batch again with unchanged weights (statistics reused);
* ``step_ms``: the update (``opt.step()``: pulse coding and device writes);
* ``train_ms``: ``write_ms + step_ms``, what a training batch costs.

A float twin's whole training step (``float_step_ms``) runs alongside for scale. With
``--baseline SRC`` the ``memlearn`` package under ``SRC`` (e.g. a git worktree's ``src``) is loaded
next to this one and both models train side by side, batch for batch in alternating order, so
machine load hits both alike; ``ratio_*`` are medians of the per-batch ratios (this tree /
baseline). Medians over ``--batches``, one torch thread. Prints one JSON object.

    .venv/bin/python benchmarks/bench_small_batch.py [--kind constant_step] [--per-sample] [--baseline /tmp/base/src]
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_aihwkit import aihwkit_like_config  # noqa: E402

SIZES, BATCH, WARMUP = (784, 256, 128, 10), 10, 20


def _data(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    try:
        from bench_aihwkit import load_split

        x, y = load_split(5000)[:2]
        x, y = torch.from_numpy(x), torch.from_numpy(y)
    except Exception:  # no MNIST here: random images
        g = torch.Generator().manual_seed(0)
        x, y = torch.rand(3750, SIZES[0], generator=g), torch.randint(0, SIZES[-1], (3750,), generator=g)
    reps = -(-n // len(x))
    return x.repeat(reps, 1)[:n], y.repeat(reps)[:n]


def _load_baseline(src: Path, tmp: Path) -> str:
    """Import the ``memlearn`` package under ``src`` as ``memlearn_baseline``; returns that name."""
    dst = tmp / "memlearn_baseline"
    shutil.copytree(src / "memlearn", dst, ignore=shutil.ignore_patterns("__pycache__"))
    for path in dst.rglob("*.py"):
        text = path.read_text()
        path.write_text(re.sub(r"\bmemlearn(?=[.\s])", "memlearn_baseline", text))
    sys.path.insert(0, str(tmp))
    return "memlearn_baseline"


def _translate(obj, package: str):
    """A config object rebuilt from the classes of ``package``, recursively (fields the baseline's
    class does not have, i.e. newer options, are left out)."""
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        return obj
    module = importlib.import_module(type(obj).__module__.replace("memlearn", package, 1))
    cls = getattr(module, type(obj).__name__)
    known = {f.name for f in dataclasses.fields(cls) if f.init}
    return cls(**{f.name: _translate(getattr(obj, f.name), package) for f in dataclasses.fields(obj)
                  if f.init and f.name in known})


def _analog(package: str, kind: str, per_sample: bool):
    training = importlib.import_module(f"{package}.experiments.training")
    rules = importlib.import_module(f"{package}.rules")
    model = training.build_mlp(SIZES, "tanh", _translate(aihwkit_like_config(kind), package), seed=0)
    return model, rules.AnalogSGD(model, lr=0.1, rule=rules.StochasticPulse(per_sample=per_sample))


def _timed_fb(model, loss_fn, x, y) -> float:
    t0 = time.perf_counter()
    loss_fn(model(x), y).backward()
    return time.perf_counter() - t0


def _analog_batch(model, opt, loss_fn, x, y) -> tuple[float, float, float]:
    """Forward + backward times (after the previous write, then again unchanged) and the update's."""
    opt.zero_grad(set_to_none=True)
    t_write = _timed_fb(model, loss_fn, x, y)
    opt.zero_grad(set_to_none=True)
    t_static = _timed_fb(model, loss_fn, x, y)
    t0 = time.perf_counter()
    opt.step()
    return t_write, t_static, time.perf_counter() - t0


def _float_batch(model, opt, loss_fn, x, y) -> float:
    t0 = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    loss_fn(model(x), y).backward()
    opt.step()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", default="constant_step", choices=("constant_step", "soft_bounds"))
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--baseline", type=Path, default=None, help="src folder of a baseline memlearn")
    parser.add_argument("--per-sample", action="store_true", help="aihwkit's per-sample update semantics")
    args = parser.parse_args()
    torch.set_num_threads(1)
    from memlearn.experiments.training import build_mlp

    with tempfile.TemporaryDirectory() as tmp:
        sides = {"": _analog("memlearn", args.kind, args.per_sample)}
        if args.baseline is not None:
            sides["baseline_"] = _analog(_load_baseline(args.baseline, Path(tmp)), args.kind, args.per_sample)
        float_model = build_mlp(SIZES, "tanh", None, seed=0, analog=False)
        float_opt = torch.optim.SGD(float_model.parameters(), lr=0.1)
        x, y = _data(BATCH * (args.batches + WARMUP))
        loss_fn = nn.CrossEntropyLoss()
        times: dict[str, list[float]] = {}
        for i in range(args.batches + WARMUP):
            xb, yb = x[i * BATCH:(i + 1) * BATCH], y[i * BATCH:(i + 1) * BATCH]
            order = list(sides.items()) if i % 2 else list(sides.items())[::-1]
            for prefix, (model, opt) in order:
                t_write, t_static, t_step = _analog_batch(model, opt, loss_fn, xb, yb)
                if i >= WARMUP:
                    times.setdefault(prefix + "write_ms", []).append(t_write)
                    times.setdefault(prefix + "static_ms", []).append(t_static)
                    times.setdefault(prefix + "step_ms", []).append(t_step)
                    times.setdefault(prefix + "train_ms", []).append(t_write + t_step)
            t_float = _float_batch(float_model, float_opt, loss_fn, xb, yb)
            if i >= WARMUP:
                times.setdefault("float_step_ms", []).append(t_float)
    out = {"kind": args.kind, "per_sample": args.per_sample, "batch": BATCH, "batches": args.batches}
    out.update({k: round(1e3 * statistics.median(v), 3) for k, v in times.items()})
    if args.baseline is not None:
        for mode in ("write", "static", "step", "train"):
            pairs = zip(times[f"{mode}_ms"], times[f"baseline_{mode}_ms"])
            out[f"ratio_{mode}"] = round(statistics.median(a / b for a, b in pairs), 3)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
