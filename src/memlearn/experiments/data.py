"""The ``[data]`` section: which classification data set, which subset, and how it is loaded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from memlearn.datasets import Dataset, load_digits, load_mnist, load_npz

DatasetName = Literal["digits", "mnist", "omniglot", "npz"]


@dataclass(frozen=True, kw_only=True)
class DataConfig:
    """Where the training and test samples come from."""

    name: DatasetName = "digits"
    """Data set: ``digits`` (sklearn, bundled), ``mnist`` (IDX files), ``omniglot`` (zips) or ``npz`` (a user's file)."""
    path: str | None = None
    """Folder (mnist: the IDX files; omniglot: the zips) or file (npz); default: the shared data folder. Required for npz."""
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
    """digits and omniglot: fraction of each class held out for testing (0.05..0.95)."""
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
        if self.name == "npz" and not self.path:
            raise ValueError("data.path is required for name = \"npz\" (a .npz with x_train, y_train, x_test, y_test)")


def subsample(data: Dataset, n_train: int | None, n_test: int | None, seed: int) -> Dataset:
    """Seeded random subsets of the train and test samples (kept whole where ``None`` or larger)."""
    rng = np.random.default_rng(seed)
    pick = lambda n, total: torch.as_tensor(np.sort(rng.choice(total, n, replace=False))) if n is not None and n < total else None
    tr, te = pick(n_train, len(data.y_train)), pick(n_test, len(data.y_test))
    return Dataset(data.x_train if tr is None else data.x_train[tr], data.y_train if tr is None else data.y_train[tr],
                   data.x_test if te is None else data.x_test[te], data.y_test if te is None else data.y_test[te],
                   data.image_shape)


def digits(cfg: DataConfig) -> Dataset:
    return subsample(load_digits(test_size=cfg.test_fraction, seed=cfg.seed), cfg.n_train, cfg.n_test, cfg.seed)


def mnist(cfg: DataConfig) -> Dataset:
    return load_mnist(cfg.path, n_train=cfg.n_train, n_test=cfg.n_test, crop=cfg.crop, seed=cfg.seed)


def npz(cfg: DataConfig) -> Dataset:
    return subsample(load_npz(cfg.path), cfg.n_train, cfg.n_test, cfg.seed)


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
    return subsample(data, cfg.n_train, cfg.n_test, cfg.seed)
