"""Noise management and bound management: digital input scaling around the analog MVM."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from memlearn.devices.validation import check_range

NOISE_MANAGEMENT = ("none", "abs_max")
"""Allowed values of ``TileConfig.noise_management``."""


def input_scale(x: Tensor, method: str, input_range: float) -> Tensor:
    """Per-vector scale ``alpha`` (batch, 1) by which inputs are divided before the DAC.

    ``"abs_max"``: ``alpha = max_i |x_i|`` so every vector uses the DAC's full range and the
    output is multiplied back by ``alpha`` digitally (noise management, Gokmen et al.,
    Front. Neurosci. 2017, "Training deep convolutional neural networks with resistive cross-point
    devices", Sec. 2.3). An all-zero vector keeps ``alpha = 1``. ``"none"``: the fixed
    ``input_range``.
    """
    if method == "abs_max":
        # amax and amin: no (batch, n) temporary, and on CPU ~10x faster than one aminmax call
        alpha = torch.maximum(x.amax(dim=-1, keepdim=True), x.amin(dim=-1, keepdim=True).neg_())
        return torch.where(alpha > 0, alpha, torch.ones_like(alpha))
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
