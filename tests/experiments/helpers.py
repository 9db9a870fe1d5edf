"""Small run configs shared by the experiment tests (fast: a few seconds per run on one core)."""

from __future__ import annotations

from pathlib import Path

TINY = """
name = "{name}"
seed = {seed}
[data]
name = "digits"
n_train = {n_train}
n_test = 90
[model]
hidden = [8]
[device]
preset = "ReRAM_SB"
[learning]
rule = "stochastic"
lr = 0.1
[train]
epochs = {epochs}
batch_size = 16
log_every = 2
"""


def tiny_config(folder: Path, name: str = "tiny", seed: int = 0, epochs: int = 3, n_train: int = 160,
                extra: str = "") -> Path:
    """Write a tiny train config (digits subset, 64-8-10 MLP on ReRAM_SB, stochastic pulses)."""
    path = Path(folder) / f"{name}.toml"
    path.write_text(TINY.format(name=name, seed=seed, epochs=epochs, n_train=n_train) + extra)
    return path


def blobs_config(folder: Path, name: str = "blobs", epochs: int = 2, extra: str = "") -> Path:
    """A tiny run on a synthetic .npz (3 Gaussian blobs, 8 features): no sklearn import, no figures,
    so a trial process costs little more than importing torch."""
    import numpy as np

    folder = Path(folder)
    data = folder / "blobs.npz"
    if not data.exists():
        rng = np.random.default_rng(0)
        centres = rng.normal(0.5, 0.25, (3, 8))
        make = lambda n: (lambda y: ((centres[y] + 0.12 * rng.normal(size=(n, 8))).clip(0, 1), y))(rng.integers(0, 3, n))
        (xtr, ytr), (xte, yte) = make(120), make(60)
        np.savez(data, x_train=xtr.astype(np.float32), y_train=ytr, x_test=xte.astype(np.float32), y_test=yte)
    text = TINY.format(name=name, seed=0, epochs=epochs, n_train=120).replace(
        'name = "digits"\nn_train = 120\nn_test = 90', f'name = "npz"\npath = "{data}"').replace(
        "lr = 0.1", "lr = 0.5")  # learns the blobs above chance in one epoch (the runs' health check)
    path = folder / f"{name}.toml"
    path.write_text(text + "figures = false\n" + extra)
    return path


ENERGY_RTOL = 0.0
"""Energy figures are compared bit for bit like everything else (the tile's read-power sum uses
torch reductions, not a BLAS product whose rounding varied between processes)."""


def same_results(a, b, path: str = "") -> None:
    """Assert two summaries / metrics records are identical, ``energy`` fields to ``ENERGY_RTOL``."""
    import math

    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), f"{path}: keys differ {sorted(a)} vs {sorted(b)}"
        for k in a:
            same_results(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), f"{path}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b)):
            same_results(x, y, f"{path}[{i}]")
    elif path.endswith("energy") and isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=ENERGY_RTOL), f"{path}: {a!r} != {b!r}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def same_run_files(folder_a: Path, folder_b: Path) -> None:
    """``summary.json`` and every ``metrics.jsonl`` record of two run folders match (see same_results)."""
    import json

    from memlearn.experiments.storage import read_jsonl

    same_results(json.loads((folder_a / "summary.json").read_text()), json.loads((folder_b / "summary.json").read_text()))
    same_results(read_jsonl(folder_a / "metrics.jsonl"), read_jsonl(folder_b / "metrics.jsonl"), "metrics")
