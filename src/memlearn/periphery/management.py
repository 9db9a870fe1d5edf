"""Noise management and bound management: digital input scaling around the analog MVM."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from memlearn.validation import check_range

NOISE_MANAGEMENT = ("none", "abs_max")
"""Allowed values of ``TileConfig.noise_management``."""

_OPERANDS: dict[tuple[float, torch.dtype], Tensor] = {}
_SMALL = 1 << 16
"""Largest input (elements) whose abs-max takes ``abs`` then ``amax`` (two operations on a small temporary)."""


def operand(value: float, dtype: torch.dtype) -> Tensor:
    """``value`` as a cached 0-d CPU tensor of ``dtype``, for the second operand of an arithmetic or
    comparison operation on a tensor of that dtype. Same result as the Python number, which torch
    wraps into a tensor and converts to ``dtype`` on every call: that costs a few microseconds per
    operation, as much as the operation itself on a small batch. Such operations take a CPU 0-d
    operand with tensors on any device (``torch.where`` does not: use a Python number there)."""
    key = (value, dtype)
    t = _OPERANDS.get(key)
    if t is None:
        if len(_OPERANDS) > 4096:  # the values come from configurations (few); bounded all the same
            _OPERANDS.clear()
        t = _OPERANDS[key] = torch.tensor(value, dtype=dtype)
    return t


class NonFiniteInput(ValueError):
    """NaN or inf among the inputs of an MVM (found by :func:`input_scale`)."""


def input_scale(x: Tensor, method: str, input_range: float, check_finite: bool = False) -> Tensor:
    """Per-vector scale ``alpha`` (batch, 1) by which inputs are divided before the DAC.

    ``"abs_max"``: ``alpha = max_i |x_i|`` so every vector uses the DAC's full range and the
    output is multiplied back by ``alpha`` digitally (noise management, Gokmen et al.,
    Front. Neurosci. 2017, "Training deep convolutional neural networks with resistive cross-point
    devices", Sec. 2.3). An all-zero vector keeps ``alpha = 1``. ``"none"``: the fixed
    ``input_range``. ``check_finite`` (``"abs_max"`` only): raise :class:`NonFiniteInput` if ``x``
    holds NaN or inf (``alpha`` does then).
    """
    if method == "abs_max":
        if x.numel() <= _SMALL:  # fewest operations
            alpha = x.abs().amax(dim=-1, keepdim=True)
        else:  # amax and amin: no (batch, n) temporary, and on CPU ~10x faster than one aminmax call
            alpha = torch.maximum(x.amax(dim=-1, keepdim=True), x.amin(dim=-1, keepdim=True).neg_())
        if check_finite and alpha.numel():
            # one reduction of the scales answers both questions: any input non-finite (amax
            # propagates NaN and inf), any vector all zero (the only ones that need alpha = 1)
            lo, hi = (float(v) for v in torch.aminmax(alpha))
            if not (math.isfinite(lo) and math.isfinite(hi)):
                raise NonFiniteInput("inputs contain NaN or inf")
            if lo > 0:
                return alpha
        # alpha is this call's own tensor; a fill with a Python number works on every device
        return alpha.masked_fill_(alpha == operand(0.0, alpha.dtype), 1.0)
    if method == "none":
        return torch.full((x.shape[0], 1), float(input_range), dtype=x.dtype, device=x.device)
    raise ValueError(f"noise_management={method!r} must be one of {NOISE_MANAGEMENT}")


@dataclass(frozen=True, kw_only=True)
class BoundManagement:
    """Repeat an MVM with smaller inputs when the ADC saturates.

    Every input vector whose output saturates any column is divided by ``shrink`` and sent again
    (the digital output is multiplied back), at most ``max_repeats`` times: the iterative bound
    management of Gokmen et al., Front. Neurosci. 2017 (Sec. 2.3) and aihwkit's
    ``BoundManagementType.ITERATIVE``. Each repeat costs another DAC/ADC pass (counted).
    """

    max_repeats: int = 4
    """Largest number of repeats per MVM (1..20)."""
    shrink: float = 2.0
    """Input division factor per repeat (> 1)."""

    def __post_init__(self) -> None:
        check_range("bound_management.max_repeats", self.max_repeats, 1, 20)
        check_range("bound_management.shrink", self.shrink, 1.0 + 1e-6, 1e6)
