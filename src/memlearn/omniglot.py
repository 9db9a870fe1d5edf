"""Omniglot handwritten characters, read straight from the zip files (nothing is downloaded).

Lake, Salakhutdinov & Tenenbaum, "Human-level concept learning through probabilistic program
induction", Science 350(6266):1332-1338, 2015 (data: github.com/brendenlake/omniglot, MIT).
The shared folder holds the two small background splits and the 20 one-shot runs; see its
``SOURCE.md``. Greek and Latin appear in both small splits: characters are deduplicated by their
``alphabet/character`` path.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

SPLITS: dict[str, tuple[str, ...]] = {
    "background": ("images_background_small1.zip", "images_background_small2.zip"),
    "background_small1": ("images_background_small1.zip",),
    "background_small2": ("images_background_small2.zip",),
}
"""Split name -> zip files it reads (in this order; later duplicates of a character are skipped)."""


def _root(root: str | Path | None) -> Path:
    if root is not None:
        return Path(root)
    from memlearn.datasets import default_data_root

    return default_data_root() / "omniglot"


def _check_size(size: int) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 1 <= int(size) <= 105:
        raise ValueError(f"size={size!r} must be an integer in [1, 105] (pixels per side; originals are 105x105)")
    return int(size)


def _to_array(png: bytes, size: int) -> np.ndarray:
    """One PNG as a (size*size,) float32 stroke map in [0, 1] (ink = 1), box-downsampled by PIL."""
    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("L")
    if img.size != (size, size):
        img = img.resize((size, size), Image.Resampling.BOX)
    return 1.0 - np.asarray(img, dtype=np.float32).reshape(-1) / 255.0


def load_omniglot(root: str | Path | None = None, size: int = 28,
                  split: str = "background") -> tuple[np.ndarray, np.ndarray, list[str]]:
    """All images of a split with one class per character.

    Args:
        root: folder holding the zips (default ``<shared data>/omniglot``).
        size: output side in pixels (1..105); images are box-downsampled from 105x105.
        split: ``background`` (small1 + small2, deduplicated), ``background_small1`` or ``background_small2``.

    Returns:
        ``(images (N, size*size) float32 in [0, 1] with ink = 1, labels (N,) int64,
        class_names ["Alphabet/characterNN", ...])``; labels index ``class_names``, which is sorted,
        and images are ordered by class then drawer.
    """
    size = _check_size(size)
    if split not in SPLITS:
        raise ValueError(f"split={split!r} is not one of {sorted(SPLITS)}")
    folder = _root(root)
    by_class: dict[str, list[tuple[str, bytes]]] = {}
    for zip_name in SPLITS[split]:
        path = folder / zip_name
        if not path.is_file():
            raise FileNotFoundError(f"Omniglot zip {path} is missing (see {folder / 'SOURCE.md'})")
        seen_here: dict[str, list[tuple[str, bytes]]] = {}
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                parts = name.split("/")
                if len(parts) != 4 or not parts[3].endswith(".png"):
                    continue
                key = f"{parts[1]}/{parts[2]}"
                if key in by_class:  # the same character from an earlier zip
                    continue
                seen_here.setdefault(key, []).append((parts[3], z.read(name)))
        by_class.update(seen_here)
    class_names = sorted(by_class)
    images, labels = [], []
    for label, key in enumerate(class_names):
        for _, png in sorted(by_class[key]):
            images.append(_to_array(png, size))
            labels.append(label)
    return np.stack(images).astype(np.float32), np.asarray(labels, dtype=np.int64), class_names


def load_omniglot_runs(root: str | Path | None = None,
                       size: int = 28) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """The 20 standard 20-way 1-shot runs of Lake et al. 2015 (``all_runs.zip``).

    Returns:
        One tuple per run: ``(support (20, size*size), support_labels (20,), query (20, size*size),
        query_labels (20,))``; label ``k`` is ``training/class{k+1:02d}.png``, and each query's label
        comes from the run's ``class_labels.txt``.
    """
    size = _check_size(size)
    path = _root(root) / "all_runs.zip"
    if not path.is_file():
        raise FileNotFoundError(f"Omniglot runs {path} are missing")
    runs = []
    with zipfile.ZipFile(path) as z:
        run_names = sorted({n.split("/")[0] for n in z.namelist() if n.startswith("run")})
        for run in run_names:
            pairs = [line.split() for line in z.read(f"{run}/class_labels.txt").decode().splitlines() if line.strip()]
            train_names = sorted({p[1] for p in pairs})
            index = {name: i for i, name in enumerate(train_names)}
            support = np.stack([_to_array(z.read(n), size) for n in train_names])
            query = np.stack([_to_array(z.read(p[0]), size) for p in pairs])
            q_labels = np.asarray([index[p[1]] for p in pairs], dtype=np.int64)
            runs.append((support, np.arange(len(train_names), dtype=np.int64), query, q_labels))
    return runs
