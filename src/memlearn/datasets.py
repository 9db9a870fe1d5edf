"""Classification data sets as float tensors: the :class:`Dataset` value, sklearn's digits, MNIST.

Nothing is downloaded: digits ship with scikit-learn, MNIST is read from a folder
(default ``../shared/data/mnist`` next to the repository, or ``$MEMLEARN_DATA/mnist``).
A user's own file (.npz, CSV, parquet) is read by :mod:`memlearn.user_data`.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor


@dataclass(frozen=True)
class Dataset:
    """Train/test split; inputs float32, shape (n, features) (bundled sets in [0, 1]); labels int64 in 0..C-1."""

    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    image_shape: tuple[int, int] | None = None
    class_names: tuple[str, ...] | None = None
    """Original label of each class index where the file held strings (``class_names[c]`` is class ``c``)."""
    record: dict | None = None
    """How the data were obtained and transformed (source, sizes, normalisation), stored with a run."""

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def n_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max()).item()) + 1


def default_data_root() -> Path:
    """``$MEMLEARN_DATA`` if set, else ``../shared/data`` relative to the repository."""
    if "MEMLEARN_DATA" in os.environ:
        return Path(os.environ["MEMLEARN_DATA"])
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent.parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return Path.cwd().parent / "shared" / "data"


def load_digits(test_size: float = 0.25, seed: int = 0) -> Dataset:
    """sklearn's 8x8 digits (1,797 images), stratified split, pixels scaled to [0, 1]."""
    from sklearn.datasets import load_digits as _load
    from sklearn.model_selection import train_test_split

    x, y = _load(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(x / 16.0, y, test_size=test_size, random_state=seed, stratify=y)
    t = lambda a, dt: torch.tensor(np.asarray(a), dtype=dt)
    return Dataset(t(x_tr, torch.float32), t(y_tr, torch.int64), t(x_te, torch.float32), t(y_te, torch.int64), (8, 8))


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise ValueError(f"{path} is truncated: expected {int(np.prod(dims))} values, found {body.size}")
    return body.reshape(dims)


def _find(root: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        for folder in (root, root / "idx"):
            if (folder / name).is_file():
                return folder / name
    return None


def _mnist_train_images(root: Path) -> np.ndarray:
    idx = _find(root, "train-images-idx3-ubyte")
    if idx is not None:
        return _read_idx(idx)
    png_dir = root / "convnetjs_png"
    if not png_dir.is_dir():
        raise FileNotFoundError(f"no MNIST training images in {root} (need train-images-idx3-ubyte[.gz] or convnetjs_png/)")
    from PIL import Image

    # Batches 0-19 of the convnetjs PNGs are the 60k training images in IDX order (see SOURCE.md).
    rows = [np.asarray(Image.open(png_dir / f"mnist_batch_{i}.png").convert("L")) for i in range(20)]
    return np.concatenate(rows, axis=0).reshape(-1, 28, 28)


def load_mnist(root: str | Path | None = None, n_train: int | None = None, n_test: int | None = None,
               crop: int | None = None, seed: int = 0) -> Dataset:
    """MNIST from a folder of the standard IDX files (or the repository's shared copy).

    Args:
        root: folder holding ``train-images-idx3-ubyte[.gz]`` etc. (or ``idx/`` + ``convnetjs_png/``).
        n_train, n_test: random subsets (seeded) of the 60k / 10k images; ``None`` keeps all.
        crop: keep the central ``crop x crop`` pixels (NeuroSim crops to 20x20).
    """
    root = Path(root) if root is not None else default_data_root() / "mnist"
    if not root.is_dir():
        raise FileNotFoundError(f"MNIST folder {root} does not exist; pass the folder of the IDX files")
    y_tr_path, x_te_path, y_te_path = (_find(root, s) for s in ("train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"))
    if None in (y_tr_path, x_te_path, y_te_path):
        raise FileNotFoundError(f"MNIST label/test IDX files missing in {root}")
    x_tr, y_tr = _mnist_train_images(root), _read_idx(y_tr_path)
    x_te, y_te = _read_idx(x_te_path), _read_idx(y_te_path)
    rng = np.random.default_rng(seed)
    if n_train is not None and n_train < len(x_tr):
        keep = rng.choice(len(x_tr), n_train, replace=False)
        x_tr, y_tr = x_tr[keep], y_tr[keep]
    if n_test is not None and n_test < len(x_te):
        keep = rng.choice(len(x_te), n_test, replace=False)
        x_te, y_te = x_te[keep], y_te[keep]
    side = 28
    if crop is not None:
        lo = (28 - crop) // 2
        x_tr, x_te = x_tr[:, lo:lo + crop, lo:lo + crop], x_te[:, lo:lo + crop, lo:lo + crop]
        side = crop
    f = lambda a: torch.tensor(a.reshape(len(a), -1), dtype=torch.float32) / 255.0
    l = lambda a: torch.tensor(a.astype(np.int64))
    return Dataset(f(x_tr), l(y_tr), f(x_te), l(y_te), (side, side))
