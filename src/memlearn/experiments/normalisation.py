"""Input normalisation fitted on the training split only: ``x' = (x - offset) / scale`` per feature.

``minmax`` maps each training feature to [0, 1] (the range of the bundled data sets, inside the
DAC's full scale of +-1); ``standard`` to zero mean and unit variance (about a third of the values
then lie beyond +-1, which a clipping DAC cuts: :mod:`memlearn.experiments.clipping` reports it).
The fitted offsets and scales are stored in the run folder (``data.json``), so that a resumed run,
the report and a later evaluation apply exactly the same transform (:func:`apply`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

Method = Literal["none", "minmax", "standard"]


@dataclass(frozen=True, kw_only=True)
class Normalisation:
    """A fitted per-feature affine transform of the inputs."""

    method: Method
    """How it was fitted: ``none`` (identity), ``minmax`` or ``standard``."""
    offset: list[float]
    """Subtracted from each feature (input units); empty for ``none``."""
    scale: list[float]
    """Each feature is then divided by this (input units, > 0); empty for ``none``."""

    def to_dict(self) -> dict:
        return {"method": self.method, "offset": list(self.offset), "scale": list(self.scale)}

    @staticmethod
    def from_dict(d: dict) -> "Normalisation":
        return Normalisation(method=d["method"], offset=[float(v) for v in d["offset"]],
                             scale=[float(v) for v in d["scale"]])


def fit(x_train: Tensor, method: Method) -> Normalisation:
    """Fit ``method`` on the training inputs (n, features). A constant feature gets scale 1 (it maps to 0)."""
    if method == "none":
        return Normalisation(method="none", offset=[], scale=[])
    x = x_train.double()
    if method == "minmax":
        offset, span = x.amin(dim=0), x.amax(dim=0) - x.amin(dim=0)
    elif method == "standard":
        offset, span = x.mean(dim=0), x.std(dim=0, unbiased=False)
    else:
        raise ValueError(f"data.normalise={method!r} must be one of none, minmax, standard")
    scale = torch.where(span > 0, span, torch.ones_like(span))
    return Normalisation(method=method, offset=offset.tolist(), scale=scale.tolist())


def apply(norm: Normalisation, x: Tensor) -> Tensor:
    """``(x - offset) / scale`` in ``x``'s dtype (a new tensor); ``x``: (n, features) with the fitted features."""
    if norm.method == "none":
        return x
    if x.shape[-1] != len(norm.offset):
        raise ValueError(f"the normalisation was fitted on {len(norm.offset)} features, the inputs have {x.shape[-1]}")
    offset = torch.tensor(norm.offset, dtype=torch.float64)
    scale = torch.tensor(norm.scale, dtype=torch.float64)
    return ((x.double() - offset) / scale).to(x.dtype)
