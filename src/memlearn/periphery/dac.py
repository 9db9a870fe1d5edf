"""Input DAC: digital inputs -> word-line voltages (clip + quantise)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from memlearn.validation import check_positive, check_range
from memlearn.periphery.management import operand
from memlearn.periphery.quantise import quantise


@dataclass(frozen=True, kw_only=True)
class DAC:
    """A signed, zero-centred voltage DAC driving the word lines (or, backward, the bit lines).

    The digital value ``x`` is first divided by ``input_range`` (or by the input's own maximum
    under noise management), clipped to ``[-1, 1]`` and rounded to ``2**bits - 1`` levels; the
    level ``u`` drives the line with ``u * v_read`` volts. Periphery conventions as in
    Rasch et al., IEEE AICAS 2021 (aihwkit ``IOParameters``: ``inp_bound``, ``inp_res``); a 7-bit
    forward DAC is the default of Joshi et al., Nat. Commun. 2020.
    """

    bits: int | None = 8
    """Resolution (2..24 bits; ``None`` = no rounding, only clipping)."""
    input_range: float = 1.0
    """Digital input that maps to full-scale voltage without noise management (input units, > 0)."""
    v_read: float = 0.2
    """Full-scale read voltage (V, > 0); small enough not to disturb the devices."""
    clip: bool = True
    """Clip inputs beyond full scale (a real DAC saturates); ``False`` only rounds."""

    def __post_init__(self) -> None:
        if self.bits is not None:
            check_range("dac.bits", self.bits, 2, 24)
        check_positive("dac.input_range", self.input_range)
        check_range("dac.v_read", self.v_read, 1e-6, 10.0)

    def convert(self, u: Tensor) -> Tensor:
        """Normalised input ``u`` (any shape, full scale = 1) -> the level the DAC outputs (full scale = 1)."""
        return quantise(u, 1.0, self.bits, self.clip)

    def convert_levels(self, x: Tensor, alpha: Tensor, out: Tensor | None = None) -> tuple[Tensor, float]:
        """``(k, q)`` with ``k * q = convert(x / alpha)``, in a few in-place passes (no autograd).

        With ``bits`` set, ``k`` holds the integer level numbers (float dtype, ``|k| <= 2**(bits-1) - 1``
        when clipping) and ``q = 1 / (2**(bits-1) - 1)`` is the DAC step; without rounding ``k`` is the
        clipped ``x / alpha`` and ``q = 1``. ``x``: (batch, n); ``alpha``: (batch, 1) input scale;
        ``out``: optional result buffer."""
        if self.bits is None:
            u = torch.div(x, alpha, out=out) if out is not None else x / alpha
            return (u.clamp_(-1.0, 1.0) if self.clip else u), 1.0
        half = (2 ** int(self.bits) - 2) / 2.0  # levels per unit: step = 1 / half
        scale = alpha.reciprocal().mul_(operand(half, alpha.dtype))  # half / alpha as torch computes it
        u = torch.mul(x, scale, out=out) if out is not None else x * scale
        if self.clip:
            u.clamp_(-half, half)
        return u.round_(), 1.0 / half

    def convert_scaled(self, x: Tensor, alpha: Tensor, gain: float = 1.0, out: Tensor | None = None) -> Tensor:
        """``gain * convert(x / alpha)`` in a few in-place passes on one tensor (no autograd).

        ``x``: (batch, n); ``alpha``: (batch, 1) input scale; ``gain`` folds a later constant
        factor (the ADC's ``1/step``) into the DAC levels; ``out``: optional result buffer."""
        k, q = self.convert_levels(x, alpha, out)
        return k.mul_(gain * q) if gain * q != 1.0 else k
