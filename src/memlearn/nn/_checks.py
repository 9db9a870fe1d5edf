"""Input checks of a tile's reads, with errors naming the layer, the argument and the expected shape."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def check_input(name: str, x: Tensor, n: int, what: str, device: torch.device, check_finite: bool = True) -> None:
    """Raise a clear error unless ``x`` is a floating tensor on ``device`` with last dimension ``n``
    (and, with ``check_finite``, no NaN or inf). ``name``: the layer, ``what``: the argument."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: {what} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name}: {what} must be a floating-point tensor, got dtype {x.dtype}")
    if x.dim() == 0:
        raise ValueError(f"{name}: expected {n} {what} (last dimension), got a 0-d tensor")
    if x.device != device:
        raise ValueError(f"{name}: {what} are on {x.device} but the tile lives on {device}; "
                         f"move one of them (model.to(device) or x.to(device))")
    if x.shape[-1] != n:
        raise ValueError(f"{name}: expected {n} {what} (last dimension), got {x.shape[-1]} "
                         f"(input shape {tuple(x.shape)})")
    # a finite sum proves every entry finite (one cheap reduction); otherwise check exactly
    if check_finite and not math.isfinite(float(x.detach().sum())) and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name}: {what} contain NaN or inf")
