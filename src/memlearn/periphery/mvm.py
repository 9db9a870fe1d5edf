"""The periphery pipeline of one analog MVM: scale -> DAC -> arrays -> output noise -> ADC -> sum.

Shared by the forward (word lines driven, bit lines sensed) and backward (the transpose) reads.
A read of a small batch is a few dozen tiny tensor operations, so everything that depends on
the configuration only is worked out once (:class:`Periphery`) and every pass runs only the
operations its result needs.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor

from memlearn.periphery._adc_kernel import codes_sum
from memlearn.periphery.adc import ADC
from memlearn.periphery.dac import DAC
from memlearn.periphery.management import BoundManagement, input_scale, operand

IDEAL_DAC = DAC(bits=None)
"""Read voltage used for power accounting and IR drop when no DAC is configured (ideal inputs)."""

Partials = Callable[[Tensor, float], Tensor]
"""``partials(k, q)``: per-array partial outputs (n_arrays, batch, n_out), normalised, of the
DAC levels ``k * q`` (``k``: (batch, n_in), whole numbers with ``|k| <= 2**(bits-1) - 1`` when the
DAC rounds and clips; ``q``: a float); linear in ``k * q`` and returning a fresh tensor."""
Record = Callable[[Tensor, float], None]
"""Called with ``k, step`` of every pass: the DAC levels are ``k * step`` (cost counters)."""


class Periphery:
    """The converters and input scaling of one read direction, with the constants of every pass.

    Args:
        dac, adc: the converters (``None`` = ideal).
        noise_management: ``"abs_max"`` or ``"none"`` (:func:`input_scale`).
        bound_management: repeat saturated vectors (only with an ADC, the only thing that saturates).
        output_noise: std of the normalised output noise per array and column.
    """

    def __init__(self, dac: DAC | None, adc: ADC | None, noise_management: str,
                 bound_management: BoundManagement | None, output_noise: float) -> None:
        self.dac, self.adc, self.noise_management = dac, adc, noise_management
        self.bound_management = bound_management if adc is not None else None
        self.output_noise = float(output_noise)
        self.step = adc.step if adc is not None else 1.0
        """ADC step in normalised output; partial outputs are computed in its units."""
        self.top = adc.output_range / self.step if adc is not None else math.inf
        """ADC full scale in units of ``step``."""
        self.scaled = not (dac is None and noise_management == "none" and self.bound_management is None)
        """Whether inputs are divided by a per-vector ``alpha`` (without: exactly the float product)."""
        self.input_range = dac.input_range if dac is not None else 1.0
        self.abs_max = noise_management == "abs_max"
        """``alpha = max |x|``: a non-finite input shows in ``alpha`` (see ``check_finite``)."""


def _levels(x: Tensor, alpha: Tensor | None, dac: DAC | None, gain: float, out: Tensor | None) -> tuple[Tensor, float]:
    """``(k, q)`` with ``k * q = gain * DAC(x / alpha)`` (``alpha = None``: no scaling, no DAC); ``k``
    holds the DAC's integer level numbers when it rounds, written into ``out`` when given."""
    if alpha is None:
        return x, gain
    if dac is None:
        u = torch.div(x, alpha, out=out) if out is not None else x / alpha
        return u, gain
    k, q = dac.convert_levels(x, alpha, out)
    return k, gain * q


def _saturated(p: Tensor, top: float) -> Tensor | None:
    """Per vector (batch,), whether any of its partial outputs ``p`` reaches the ADC's full scale
    ``top``; None when none does (the common case, found with one reduction and no mask)."""
    top_t = operand(top, p.dtype)  # compared in the outputs' dtype, as the ADC clips them
    if p.numel() == 0:
        return None
    lo, hi = torch.aminmax(p)
    if float(hi) < float(top_t) and float(lo) > -float(top_t):
        return None
    return p.abs().amax(dim=-1 if p.dim() == 2 else (0, 2)) >= top_t


def _pass(k: Tensor, q: float, partials: Partials, periphery: Periphery, generator: torch.Generator,
          track_saturation: bool) -> tuple[Tensor, Tensor | None]:
    """Sum over arrays of the digitised partial outputs, in ADC codes, for DAC levels ``k * q``
    already multiplied by ``1/step`` (folded into the small input instead of the large partial
    outputs); with ``track_saturation`` also which vectors saturated (:func:`_saturated`). The
    sum is this call's own tensor (callers scale it in place)."""
    p = partials(k, q)
    if p.shape[0] == 1:  # one array: its (batch, n_out) outputs, no sum over arrays
        p = p[0]
    if periphery.output_noise > 0:
        p.add_(torch.randn(p.shape, generator=generator, device=p.device, dtype=p.dtype),
               alpha=periphery.output_noise / periphery.step)
    adc = periphery.adc
    if adc is None:
        return (p if p.dim() == 2 else p.sum(dim=0)), None
    saturated = _saturated(p, periphery.top) if track_saturation else None
    if p.dim() == 2:
        return adc.convert_codes_(p), saturated
    # rounding ADCs: one compiled pass over the partials on the CPU (bit for bit the torch path's codes)
    summed = codes_sum(p, periphery.top) if adc.bits is not None else None
    return (adc.convert_codes_sum_(p) if summed is None else summed), saturated


def _repeat_saturated(y: Tensor, saturated: Tensor, x: Tensor, alpha: Tensor, periphery: Periphery,
                      partials: Partials, generator: torch.Generator, record: Record) -> None:
    """Bound management, in place on ``y`` and ``alpha``: the ``saturated`` vectors are sent again
    with ``alpha`` multiplied by ``shrink`` until none saturates or the repeat budget is spent.
    Only the vectors still repeated are carried along."""
    bm, step = periphery.bound_management, periphery.step
    shrink = operand(bm.shrink, alpha.dtype)
    idx = saturated.nonzero().squeeze(1)
    a_sub = alpha.index_select(0, idx)
    for _ in range(bm.max_repeats):
        a_sub = a_sub * shrink
        k_sub, q_sub = _levels(x.index_select(0, idx), a_sub, periphery.dac, 1.0 / step, None)
        record(k_sub, q_sub * step)
        y_sub, still = _pass(k_sub, q_sub, partials, periphery, generator, True)
        y.index_copy_(0, idx, y_sub)
        alpha.index_copy_(0, idx, a_sub)
        if still is None:
            return
        keep = still.nonzero().squeeze(1)
        idx, a_sub = idx.index_select(0, keep), a_sub.index_select(0, keep)


def analog_mvm(x: Tensor, periphery: Periphery, partials: Partials, generator: torch.Generator, record: Record,
               scratch: Tensor | None = None, check_finite: bool = False) -> Tensor:
    """Digital output (batch, n_out) of one MVM of ``x`` (batch, n_in) through the periphery.

    With ``alpha`` the per-vector input scale (noise management, or the DAC's input range):
    ``y = alpha * sum_arrays ADC(partial_a(DAC(x / alpha)) + output_noise * xi)``. Each array's
    partial output is digitised on its own and the results are summed digitally. With bound
    management, vectors whose output saturated any column are repeated with ``alpha`` multiplied
    by ``shrink`` (the same conductance read reused) until no column saturates or the repeat
    budget is spent. With every option off this is exactly ``partials(x, 1.0)`` summed.
    ``scratch``: optional buffer of ``x``'s shape for the DAC levels (saves an allocation).
    ``check_finite``: raise :class:`NonFiniteInput` for NaN or inf in ``x`` where the input scale
    shows it (``periphery.abs_max``), before anything is drawn or counted.
    """
    per, step = periphery, periphery.step
    alpha = input_scale(x, per.noise_management, per.input_range, check_finite) if per.scaled else None
    k, q = _levels(x, alpha, per.dac, 1.0 / step, scratch)
    record(k, q * step)
    y, saturated = _pass(k, q, partials, per, generator, per.bound_management is not None)
    if saturated is not None:
        _repeat_saturated(y, saturated, x, alpha, per, partials, generator, record)
    if alpha is None:
        return y if step == 1.0 else y.mul_(operand(step, y.dtype))
    # alpha is this call's own tensor (made by input_scale): scaled in place
    return y.mul_(alpha.mul_(operand(step, alpha.dtype)) if step != 1.0 else alpha)
