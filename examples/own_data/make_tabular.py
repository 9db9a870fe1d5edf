"""Two tabular data sets as a user would export them (raw feature values up to a few thousand), saved as .npz.

sklearn's bundled wine (13 features, proline up to 1,680) and breast_cancer (30 features, worst area
up to 4,254) with a stratified 75/25 split (seed 0), arrays ``x_train, y_train, x_test, y_test``.
Nothing is downloaded. Usage::

    python examples/own_data/make_tabular.py OUT_DIR
    memlearn run examples/quickstart.toml --set data.name=npz --set data.path=OUT_DIR/wine.npz
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.model_selection import train_test_split


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, load in (("wine", load_wine), ("breast_cancer", load_breast_cancer)):
        x, y = load(return_X_y=True)
        x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)
        np.savez(out / f"{name}.npz", x_train=x_tr, y_train=y_tr, x_test=x_te, y_test=y_te)
        print(f"{out / f'{name}.npz'}: {len(y_tr)} training, {len(y_te)} test samples, {x.shape[1]} features, "
              f"values {x.min():.3g}..{x.max():.4g}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "."))
