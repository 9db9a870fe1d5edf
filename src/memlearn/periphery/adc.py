"""Output ADC: bit-line currents -> digital values (saturation + quantisation)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from memlearn.validation import check_positive, check_range
from memlearn.periphery.quantise import quantise


@dataclass(frozen=True, kw_only=True)
class ADC:
    """A signed, zero-centred ADC, one conversion per column per MVM and physical array.

    Works on the normalised column output ``y_n = sum_i u_i (G+_ij - G-_ij) / (g_max - g_min)``
    (``u`` the DAC level in [-1, 1]): it saturates at ``+-output_range`` and rounds to
    ``2**bits - 1`` levels. In physical terms the full-scale current is
    ``output_range * v_read * (g_max - g_min)`` (A). ``output_range = 12`` and 9 bits are the
    defaults of aihwkit's ``IOParameters.out_bound``/``out_res`` (Rasch et al., IEEE AICAS 2021;
    Joshi et al., Nat. Commun. 2020 use a 9-bit ADC).
    """

    bits: int | None = 8
    """Resolution (2..24 bits; ``None`` = no rounding, only saturation)."""
    output_range: float = 12.0
    """Saturation level of the normalised column output (> 0)."""

    def __post_init__(self) -> None:
        if self.bits is not None:
            check_range("adc.bits", self.bits, 2, 24)
        check_positive("adc.output_range", self.output_range)

    def convert(self, y: Tensor) -> Tensor:
        """Saturate and quantise the normalised column outputs (any shape)."""
        return quantise(y, self.output_range, self.bits, True)

    @property
    def step(self) -> float:
        """Normalised output per ADC code (``inf`` bits = no rounding: 1.0, codes are the values)."""
        return 1.0 if self.bits is None else 2.0 * self.output_range / (2 ** int(self.bits) - 2)

    def convert_codes_sum_(self, codes: Tensor) -> Tensor:
        """Digital sum over arrays of the converted partial outputs, given in units of :attr:`step`.

        ``codes``: (n_arrays, batch, n_out) partial outputs already divided by ``step`` (the tile
        folds ``1/step`` into its input scaling, saving a pass); converted in place (no autograd).
        Returns the summed integer codes (batch, n_out); multiply by ``step`` for the value. Equal to
        ``convert(codes * step).sum(0) / step`` up to float rounding.
        """
        p = self.convert_codes_(codes)
        return p[0] if p.shape[0] == 1 else p.sum(dim=0)

    def convert_codes_(self, codes: Tensor) -> Tensor:
        """The integer codes of one array's outputs (any shape) given in units of :attr:`step`:
        saturated and rounded in place (no autograd)."""
        top = self.output_range / self.step
        p = codes.clamp_(-top, top)
        return p.round_() if self.bits is not None else p

    def saturated(self, y: Tensor) -> Tensor:
        """Boolean mask of outputs at or beyond full scale (before conversion)."""
        return y.abs() >= self.output_range
