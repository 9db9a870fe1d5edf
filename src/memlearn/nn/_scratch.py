"""Reused work buffers of a tile's reads (large fresh tensors cost page faults on CPU)."""

from __future__ import annotations

import torch
from torch import Tensor


class ScratchPool:
    """Named work buffers, reused from read to read and never handed out of the read that uses
    them; none while autograd records (a buffer saved for backward must not be overwritten)."""

    def __init__(self) -> None:
        self._buffers: dict[str, Tensor] = {}

    def get(self, name: str, shape: tuple[int, ...], like: Tensor) -> Tensor | None:
        """A buffer ``name`` of ``shape`` in ``like``'s dtype and device, or None under autograd."""
        if like.requires_grad or torch.is_grad_enabled():
            return None
        b = self._buffers.get(name)
        if b is None or b.shape != tuple(shape) or b.dtype != like.dtype or b.device != like.device:
            b = self._buffers[name] = torch.empty(shape, dtype=like.dtype, device=like.device)
        return b

    def clear(self) -> None:
        self._buffers = {}
