"""The ``[data]`` section: which classification data set, which subset, how it is normalised and loaded.

A user's file (npz, csv, parquet) is normalised by default (``minmax``, fitted on the training
split only); the bundled sets (digits, mnist, omniglot) are already scaled to [0, 1] and are left
as they are. What was loaded and how it was transformed is written to the run folder as
``data.json`` (:func:`persist`): a resumed run checks it, the report shows it, and
:func:`normalise_like` applies the stored transform to new inputs.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from memlearn.datasets import Dataset, load_digits, load_mnist
from memlearn.user_data import DataFileError, load_npz, load_table
from memlearn.experiments import normalisation as _norm

DatasetName = Literal["digits", "mnist", "omniglot", "npz", "csv", "parquet"]
USER_DATA = ("npz", "csv", "parquet")
"""Data sets read from a user's file (normalised by default)."""
RECORD = "data.json"
"""File of the run folder describing the data and its normalisation."""


@dataclass(frozen=True, kw_only=True)
class DataConfig:
    """Where the training and test samples come from."""

    name: DatasetName = "digits"
    """Data set: ``digits`` (sklearn, bundled), ``mnist`` (IDX files), ``omniglot`` (zips), or a user's file:
    ``npz`` (arrays ``x_train, y_train, x_test, y_test`` or ``X, y``), ``csv`` or ``parquet`` (one row per sample)."""
    path: str | None = None
    """Folder (mnist: the IDX files; omniglot: the zips) or file (npz, csv, parquet); default: the shared data
    folder. Required for npz, csv and parquet."""
    label: str = "label"
    """csv and parquet: the column holding the class (integers 0..C-1, or strings, mapped in sorted order)."""
    normalise: Literal["auto", "none", "minmax", "standard"] = "auto"
    """Input normalisation fitted on the training split only: ``minmax`` (each feature to [0, 1]),
    ``standard`` (zero mean, unit std), ``none``; ``auto`` = ``minmax`` for npz/csv/parquet files and
    ``none`` for the bundled sets (already in [0, 1])."""
    strict_range: bool = False
    """Stop with an error, instead of a warning, when the inputs exceed the DAC's full scale or a layer's
    DAC clips more than 1% of its inputs before training."""
    n_train: int | None = None
    """Random (seeded) subset of the training samples (>= 1); all when omitted."""
    n_test: int | None = None
    """Random (seeded) subset of the test samples (>= 1); all when omitted."""
    crop: int | None = None
    """mnist only: keep the central crop x crop pixels (1..28; NeuroSim uses 20)."""
    size: int = 28
    """omniglot only: image side after downsampling from 105 px (1..105)."""
    n_classes: int | None = None
    """omniglot only: keep the first n character classes (2..242); all when omitted."""
    test_fraction: float = 0.25
    """digits, omniglot, npz with ``X, y``, csv and parquet: fraction of each class held out for testing (0.05..0.95)."""
    seed: int = 0
    """Seed of the split and of the subsets (>= 0); independent of the run's seed so that every chip instance sees the same data."""

    def __post_init__(self) -> None:
        for name in ("n_train", "n_test"):
            v = getattr(self, name)
            if v is not None and v < 1:
                raise ValueError(f"data.{name}={v!r} must be >= 1")
        if self.crop is not None and not 1 <= self.crop <= 28:
            raise ValueError(f"data.crop={self.crop!r} must be in [1, 28]")
        if not 1 <= self.size <= 105:
            raise ValueError(f"data.size={self.size!r} must be in [1, 105]")
        if self.n_classes is not None and not 2 <= self.n_classes <= 242:
            raise ValueError(f"data.n_classes={self.n_classes!r} must be in [2, 242]")
        if not 0.05 <= self.test_fraction <= 0.95:
            raise ValueError(f"data.test_fraction={self.test_fraction!r} must be in [0.05, 0.95]")
        if self.seed < 0:
            raise ValueError(f"data.seed={self.seed!r} must be >= 0")
        if self.name in USER_DATA and not self.path:
            raise ValueError(f"data.path is required for name = {self.name!r} (the file to read)")
        if not self.label:
            raise ValueError("data.label must name the label column (a non-empty string)")

    @property
    def method(self) -> _norm.Method:
        """The normalisation actually applied (``auto`` resolved)."""
        if self.normalise == "auto":
            return "minmax" if self.name in USER_DATA else "none"
        return self.normalise


def subsample(data: Dataset, n_train: int | None, n_test: int | None, seed: int) -> Dataset:
    """Seeded random subsets of the train and test samples (kept whole where ``None`` or larger)."""
    rng = np.random.default_rng(seed)
    pick = lambda n, total: torch.as_tensor(np.sort(rng.choice(total, n, replace=False))) if n is not None and n < total else None
    tr, te = pick(n_train, len(data.y_train)), pick(n_test, len(data.y_test))
    return dataclasses.replace(data, x_train=data.x_train if tr is None else data.x_train[tr],
                               y_train=data.y_train if tr is None else data.y_train[tr],
                               x_test=data.x_test if te is None else data.x_test[te],
                               y_test=data.y_test if te is None else data.y_test[te])


def _finish(data: Dataset, cfg: DataConfig) -> Dataset:
    """Subsets, then the normalisation fitted on the (subset) training inputs; the record says both."""
    data = subsample(data, cfg.n_train, cfg.n_test, cfg.seed)
    norm = _norm.fit(data.x_train, cfg.method)
    record = {"name": cfg.name, "path": str(Path(cfg.path).resolve()) if cfg.path else None,
              "n_train": len(data.y_train), "n_test": len(data.y_test), "n_features": data.n_features,
              "n_classes": data.n_classes, "class_names": list(data.class_names) if data.class_names else None,
              "raw_range": [float(data.x_train.min()), float(data.x_train.max())],
              "normalisation": norm.to_dict()}
    return dataclasses.replace(data, x_train=_norm.apply(norm, data.x_train), x_test=_norm.apply(norm, data.x_test),
                               record=record)


def persist(data: Dataset, run_dir: str | Path) -> None:
    """Write ``data.json`` (what was loaded, the fitted normalisation, the label mapping) into a fresh run
    folder; on resume, check that the data still give the same record.

    Raises:
        DataFileError: the stored record differs (the file changed since the run started).
    """
    from memlearn.experiments.storage import atomic_write_json, dumps, read_json

    path = Path(run_dir) / RECORD
    if not path.exists():
        atomic_write_json(path, data.record)
        return
    stored = read_json(path)
    # The file's location may differ on resume (another working directory or machine): compare the content.
    changed = sorted(k for k in set(stored) | set(data.record)
                     if k != "path" and json.loads(dumps(data.record.get(k))) != stored.get(k))
    if changed:
        raise DataFileError(f"{path}: the data differ from when this run started ({', '.join(changed)} changed); "
                            "restore the original data file or start a new run")


def normalise_like(run_dir: str | Path, x: Tensor) -> Tensor:
    """New inputs (n, features) transformed exactly as the run's training data were (from its ``data.json``)."""
    from memlearn.experiments.storage import read_json

    stored = read_json(Path(run_dir) / RECORD)
    return _norm.apply(_norm.Normalisation.from_dict(stored["normalisation"]), x)


def digits(cfg: DataConfig) -> Dataset:
    return _finish(load_digits(test_size=cfg.test_fraction, seed=cfg.seed), cfg)


def mnist(cfg: DataConfig) -> Dataset:
    data = load_mnist(cfg.path, n_train=cfg.n_train, n_test=cfg.n_test, crop=cfg.crop, seed=cfg.seed)
    return _finish(data, dataclasses.replace(cfg, n_train=None, n_test=None))  # already subset by the loader


def npz(cfg: DataConfig) -> Dataset:
    return _finish(load_npz(cfg.path, cfg.test_fraction, cfg.seed), cfg)


def csv(cfg: DataConfig) -> Dataset:
    return _finish(load_table(cfg.path, cfg.label, cfg.test_fraction, cfg.seed), cfg)


parquet = csv


def omniglot(cfg: DataConfig) -> Dataset:
    """Omniglot as a classification task: per character, a seeded ``test_fraction`` of its drawers is held out."""
    from memlearn.omniglot import load_omniglot

    x, y, _ = load_omniglot(cfg.path, size=cfg.size)
    if cfg.n_classes is not None:
        keep = y < cfg.n_classes
        x, y = x[keep], y[keep]
    rng = np.random.default_rng(cfg.seed)
    test = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        n_test = max(1, int(round(cfg.test_fraction * len(idx))))
        test[rng.choice(idx, n_test, replace=False)] = True
    t = lambda a, dt: torch.as_tensor(a, dtype=dt)
    data = Dataset(t(x[~test], torch.float32), t(y[~test], torch.int64), t(x[test], torch.float32),
                   t(y[test], torch.int64), (cfg.size, cfg.size))
    return _finish(data, cfg)
