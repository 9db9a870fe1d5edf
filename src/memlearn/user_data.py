"""A user's data file as a :class:`~memlearn.datasets.Dataset`: .npz, CSV or parquet.

The file is checked before anything trains on it: shapes, NaN/inf and labels, each failure a
:class:`DataFileError` naming the file, the array and the problem.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from memlearn.datasets import Dataset


class DataFileError(ValueError):
    """A user's data file is unusable; the message names the file, the array (or column) and the problem."""


def _features(a: np.ndarray, path: Path, name: str) -> np.ndarray:
    """``a`` as float32 (n, features), or :class:`DataFileError` for wrong shapes, non-numbers, NaN/inf."""
    if a.ndim < 2:
        raise DataFileError(f"{path}: array {name!r} has shape {a.shape}; it needs one row per sample "
                            "(n, features) or (n, height, width)")
    if a.shape[0] == 0 or a[0].size == 0:
        raise DataFileError(f"{path}: array {name!r} has shape {a.shape}: no samples or no features")
    try:
        x = np.asarray(a, dtype=np.float32).reshape(len(a), -1)
    except (TypeError, ValueError):
        raise DataFileError(f"{path}: array {name!r} (dtype {a.dtype}) is not numeric") from None
    bad = ~np.isfinite(x)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1))
        raise DataFileError(f"{path}: array {name} holds {int(bad.sum())} NaN/inf values (first in sample "
                            f"{int(rows[0])}) at feature {int(np.flatnonzero(bad[rows[0]])[0])}, in {len(rows)} samples; "
                            "clean or impute them first")
    return x


def check_labels(labels: dict[str, np.ndarray], path: Path) -> tuple[dict[str, np.ndarray], tuple[str, ...] | None]:
    """Labels as int64 class indices 0..C-1, checked, for every named array (``{"y_train": ..., "y_test": ...}``).

    Integer labels (or integer-valued floats) must together be exactly ``0..C-1`` with every class
    present in the first array (the training labels). String labels are mapped to indices in sorted
    order; the mapping is returned (``class_names[c]`` is the string of class ``c``), ``None`` for integers.
    """
    arrays = {k: np.asarray(v).reshape(-1) if np.asarray(v).ndim == 2 and np.asarray(v).shape[1] == 1
              else np.asarray(v) for k, v in labels.items()}
    for name, y in arrays.items():
        if y.ndim != 1:
            raise DataFileError(f"{path}: labels {name!r} have shape {y.shape}; give one integer or string label "
                                "per sample (n,), not one-hot rows")
    first = next(iter(arrays))
    if all(y.dtype.kind in "USO" for y in arrays.values()):
        strings = {k: y.astype(str) for k, y in arrays.items()}
        names = tuple(sorted(set(strings[first])))
        index = {n: i for i, n in enumerate(names)}
        out = {}
        for k, y in strings.items():
            unseen = sorted(set(y) - set(index))
            if unseen:
                raise DataFileError(f"{path}: labels {k!r} hold {unseen[:3]} which never occur in {first!r}; "
                                    "every class must be in the training labels")
            out[k] = np.array([index[v] for v in y], dtype=np.int64)
        return out, names
    out = {}
    for name, y in arrays.items():
        if y.dtype.kind not in "iuf" and y.dtype.kind != "b":
            raise DataFileError(f"{path}: labels {name!r} (dtype {y.dtype}) are neither integers nor strings")
        yf = y.astype(np.float64)
        if not np.isfinite(yf).all() or (yf != np.round(yf)).any():
            bad = yf[~np.isfinite(yf) | (yf != np.round(yf))][0]
            raise DataFileError(f"{path}: labels {name!r} hold the non-integer value {float(bad)!r}; "
                                "labels must be class indices 0..C-1 (or strings)")
        out[name] = yf.astype(np.int64)
    values = np.concatenate(list(out.values()))
    top = int(values.max())
    if int(values.min()) < 0:
        raise DataFileError(f"{path}: labels hold {int(values.min())}: out of range; labels must be 0..C-1")
    missing = sorted(set(range(top + 1)) - set(out[first].tolist()))
    if missing:
        raise DataFileError(f"{path}: labels run up to {top} but classes {missing[:5]} never occur in {first!r}: "
                            f"labels must be 0..C-1 with every class in the training labels (relabel, e.g. "
                            "y - y.min(), or store the labels as strings to have them mapped)")
    return out, None


def split(x: np.ndarray, y: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    """Seeded split stratified by class: ``round(test_fraction * n_c)`` test samples of each class (at least
    one where the class has two or more), the rest for training; returns ``x_tr, y_tr, x_te, y_te``."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        n_test = min(len(idx) - 1, max(1, int(round(test_fraction * len(idx))))) if len(idx) > 1 else 0
        test[rng.choice(idx, n_test, replace=False)] = True
    return x[~test], y[~test], x[test], y[test]


def _dataset(path: Path, x_tr, y_tr, x_te, y_te) -> Dataset:
    if len(x_tr) != len(y_tr) or len(x_te) != len(y_te):
        raise DataFileError(f"{path}: {len(x_tr)} training inputs but {len(y_tr)} labels, {len(x_te)} test "
                            f"inputs but {len(y_te)} labels: every sample needs one label")
    if x_tr.shape[1] != x_te.shape[1]:
        raise DataFileError(f"{path}: training samples have {x_tr.shape[1]} features, test samples "
                            f"{x_te.shape[1]}: they must match")
    if len(x_te) == 0:
        raise DataFileError(f"{path}: no test samples (raise data.test_fraction or add samples)")
    labels, names = check_labels({"y_train": y_tr, "y_test": y_te}, path)
    return Dataset(torch.from_numpy(np.ascontiguousarray(x_tr)), torch.from_numpy(labels["y_train"]),
                   torch.from_numpy(np.ascontiguousarray(x_te)), torch.from_numpy(labels["y_test"]),
                   class_names=names)


SPLIT_ARRAYS = ("x_train", "y_train", "x_test", "y_test")
"""Arrays of an ``.npz`` that is already split."""
WHOLE_ARRAYS = ("X", "y")
"""Arrays of an ``.npz`` split by memlearn (``test_fraction``, ``seed``)."""


def load_npz(path: str | Path, test_fraction: float = 0.25, seed: int = 0) -> Dataset:
    """A user's ``.npz``: arrays ``x_train, y_train, x_test, y_test``, or ``X, y`` split here (stratified,
    seeded). Inputs are flattened per sample; labels checked (:func:`check_labels`).

    Raises:
        DataFileError: missing arrays, wrong shapes, NaN/inf, bad labels (the message names file and array).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data file {path} does not exist")
    try:
        z = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise DataFileError(f"{path}: not a readable .npz of numeric or string arrays ({exc})") from None
    with z:
        files = set(z.files)
        if set(SPLIT_ARRAYS) <= files:
            x_tr, x_te = _features(z["x_train"], path, "x_train"), _features(z["x_test"], path, "x_test")
            return _dataset(path, x_tr, z["y_train"], x_te, z["y_test"])
        if set(WHOLE_ARRAYS) <= files:
            x, y = _features(z["X"], path, "X"), z["y"]
            if len(x) != len(y):
                raise DataFileError(f"{path}: array 'X' has {len(x)} samples but 'y' has {len(y)} labels")
            labels, _ = check_labels({"y": y}, path)  # checked before the split, so errors name 'y'
            parts = split(x, labels["y"] if y.dtype.kind not in "USO" else y.astype(str), test_fraction, seed)
            return _dataset(path, *parts)
    raise DataFileError(f"{path} holds arrays {sorted(files)}; it needs x_train, y_train, x_test, y_test "
                        "(already split) or X, y (split by data.test_fraction and data.seed)")


def load_table(path: str | Path, label: str, test_fraction: float = 0.25, seed: int = 0) -> Dataset:
    """A CSV or parquet table: one row per sample, the ``label`` column holds the class (integers or strings),
    every other column is a numeric feature. Split here (stratified, seeded).

    Parquet is read by pandas through pyarrow (a dependency of memlearn).
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data file {path} does not exist")
    if path.suffix.lower() == ".parquet":
        frame = pd.read_parquet(path)
    else:
        try:
            frame = pd.read_csv(path)
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
            raise DataFileError(f"{path}: not a readable CSV ({exc})") from None
    if label not in frame.columns:
        raise DataFileError(f"{path}: no label column {label!r} (data.label); columns: {', '.join(map(str, frame.columns))}")
    features = frame.drop(columns=[label])
    if features.shape[1] == 0:
        raise DataFileError(f"{path}: no feature columns besides the label column {label!r}")
    for col in features.columns:
        values = pd.to_numeric(features[col], errors="coerce")
        bad = values.isna() & features[col].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataFileError(f"{path}: column {col!r} holds the non-numeric value {features[col].iloc[row]!r} "
                                f"(row {row + 2} of the file); features must be numbers")
        features[col] = values
    x = _features(features.to_numpy(dtype=np.float64), path, "features")
    y = frame[label].to_numpy()
    if frame[label].isna().any():
        raise DataFileError(f"{path}: label column {label!r} is empty in row {int(np.flatnonzero(frame[label].isna())[0]) + 2}")
    if y.dtype.kind == "O":
        y = y.astype(str)
    labels, _ = check_labels({label: y}, path)
    return _dataset(path, *split(x, y if y.dtype.kind in "US" else labels[label], test_fraction, seed))
