"""Clip-and-quantise with a straight-through gradient: the arithmetic shared by DAC and ADC."""

from __future__ import annotations

import torch
from torch import Tensor


def n_levels(bits: int) -> int:
    """Levels of a signed, zero-centred converter with ``bits`` bits: ``2**bits - 1``.

    One code of the ``2**bits`` is given up so that the levels are symmetric about zero and zero
    is exact (the convention of aihwkit's ``inp_res``/``out_res = 1 / (2**bits - 2)``, Rasch et al.,
    IEEE AICAS 2021).
    """
    return 2 ** int(bits) - 1


def quantise(x: Tensor, bound: float, bits: int | None, clip: bool = True) -> Tensor:
    """Clip ``x`` to ``[-bound, bound]`` and round it to ``2**bits - 1`` evenly spaced levels.

    Args:
        x: any shape, in the converter's units.
        bound: full-scale value (> 0); the extreme levels are ``+-bound``.
        bits: resolution; ``None`` = no rounding (clipping only).
        clip: clip to the full scale (a saturating converter); without it only rounding applies.

    Gradient: straight-through for the rounding (Bengio et al., arXiv:1308.3432, 2013) and the
    clamp's own gradient (zero where the converter saturates). Outside autograd it works in place
    on a fresh result, so the forward costs a few elementwise passes.
    """
    track = torch.is_grad_enabled() and x.requires_grad
    y = x.clamp(-bound, bound) if clip else x
    if bits is None:
        return y
    step = 2.0 * bound / (2 ** int(bits) - 2)
    if track:
        return y + (torch.round(y / step) * step - y).detach()
    if y is x:
        y = x.clone()
    return y.div_(step).round_().mul_(step)
