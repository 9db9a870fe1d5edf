"""A user's data files: npz (split or X, y), CSV, parquet; shapes, NaN and labels checked with clear errors."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from memlearn.user_data import DataFileError, check_labels, load_npz, load_table, split


def _blobs(n=120, features=5, classes=3, seed=0, scale=1000.0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    x = rng.normal(size=(n, features)) + 3 * y[:, None]
    return (x * scale).astype(np.float64), y


def test_npz_with_x_y_is_split_stratified_and_seeded(tmp_path):
    x, y = _blobs()
    np.savez(tmp_path / "d.npz", X=x, y=y)
    a = load_npz(tmp_path / "d.npz", test_fraction=0.25, seed=3)
    b = load_npz(tmp_path / "d.npz", test_fraction=0.25, seed=3)
    c = load_npz(tmp_path / "d.npz", test_fraction=0.25, seed=4)
    assert len(a.y_test) == 30 and len(a.y_train) == 90
    assert np.bincount(a.y_test.numpy()).tolist() == [10, 10, 10]
    assert bool((a.x_test == b.x_test).all()) and not bool((a.x_test == c.x_test).all())
    assert a.n_features == 5 and a.n_classes == 3 and a.class_names is None


def test_string_labels_are_mapped_and_the_mapping_kept(tmp_path):
    x, y = _blobs()
    names = np.array(["setosa", "virginica", "versicolor"])[y]
    np.savez(tmp_path / "d.npz", X=x, y=names)
    data = load_npz(tmp_path / "d.npz")
    assert data.class_names == ("setosa", "versicolor", "virginica")
    # the i-th class index is the i-th sorted name
    assert data.class_names[int(data.y_train[0])] in names


@pytest.mark.parametrize("arrays, message", [
    ({"x_train": np.ones(5), "y_train": np.zeros(5), "x_test": np.ones((2, 3)), "y_test": np.zeros(2)},
     "array 'x_train' has shape (5,)"),
    ({"x_train": np.ones((5, 3)), "y_train": np.zeros(4), "x_test": np.ones((2, 3)), "y_test": np.zeros(2)},
     "5 training inputs but 4 labels"),
    ({"x_train": np.ones((5, 3)), "y_train": np.zeros(5), "x_test": np.ones((2, 4)), "y_test": np.zeros(2)},
     "3 features, test samples 4"),
    ({"x_train": np.array([[1.0, np.nan, 2.0]] * 5), "y_train": np.zeros(5), "x_test": np.ones((2, 3)),
      "y_test": np.zeros(2)}, "array x_train holds 5 NaN/inf values (first in sample 0) at feature 1, in 5 samples"),
    ({"x_train": np.ones((4, 3)), "y_train": np.array([0, 1, 5, 1]), "x_test": np.ones((2, 3)),
      "y_test": np.array([0, 1])}, "classes [2, 3, 4] never occur"),
    ({"x_train": np.ones((4, 3)), "y_train": np.array([0, 1, -1, 1]), "x_test": np.ones((2, 3)),
      "y_test": np.array([0, 1])}, "out of range"),
    ({"x_train": np.ones((4, 3)), "y_train": np.array([0, 1, 0.5, 1]), "x_test": np.ones((2, 3)),
      "y_test": np.array([0, 1])}, "non-integer value 0.5"),
    ({"x_train": np.ones((4, 3)), "y_train": np.eye(4)[:, :2], "x_test": np.ones((2, 3)),
      "y_test": np.array([0, 1])}, "not one-hot"),
    ({"features": np.ones((4, 3))}, "needs x_train, y_train, x_test, y_test"),
])
def test_bad_npz_names_file_array_and_problem(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataFileError, match=re.escape(message)) as info:
        load_npz(path)
    assert str(path) in str(info.value)


def test_test_labels_unseen_in_training_are_rejected():
    with pytest.raises(DataFileError, match="never occur in 'y_train'"):
        check_labels({"y_train": np.array(["a", "b"]), "y_test": np.array(["a", "c"])}, "f.npz")


def test_csv_with_named_label_column(tmp_path):
    x, y = _blobs()
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(5)])
    frame["species"] = np.array(["a", "b", "c"])[y]
    frame.to_csv(tmp_path / "t.csv", index=False)
    data = load_table(tmp_path / "t.csv", label="species")
    assert data.n_features == 5 and data.class_names == ("a", "b", "c") and len(data.y_test) == 30
    with pytest.raises(DataFileError, match="no label column 'label'.*species"):
        load_table(tmp_path / "t.csv", label="label")
    frame["f2"] = frame["f2"].astype(object)
    frame.loc[7, "f2"] = "n/a?"
    frame.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataFileError, match=r"column 'f2' holds the non-numeric value 'n/a\?' \(row 9"):
        load_table(tmp_path / "bad.csv", label="species")


def test_parquet(tmp_path):
    x, y = _blobs()
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(5)])
    frame["label"] = y
    frame.to_parquet(tmp_path / "t.parquet")
    data = load_table(tmp_path / "t.parquet", label="label")
    assert data.n_classes == 3 and len(data.y_train) == 90


def test_split_keeps_every_class_in_training():
    x = np.zeros((7, 1))
    y = np.array([0, 0, 0, 0, 1, 1, 2])
    _, y_tr, _, y_te = split(x, y, 0.5, 0)
    assert set(y_tr.tolist()) == {0, 1, 2} and 2 not in y_te.tolist()
