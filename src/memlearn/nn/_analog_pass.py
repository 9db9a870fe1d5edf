"""One analog MVM through the periphery: scale -> DAC -> arrays -> output noise -> ADC -> sum.

Shared by the forward (word lines driven, bit lines sensed) and backward (the transpose) reads.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from memlearn.periphery.adc import ADC
from memlearn.periphery.dac import DAC
from memlearn.periphery.management import BoundManagement, input_scale

Partials = Callable[[Tensor, float], Tensor]
"""``partials(k, q)``: per-array partial outputs (n_arrays, batch, n_out), normalised, of the
DAC levels ``k * q`` (``k``: (batch, n_in), whole numbers with ``|k| <= 2**(bits-1) - 1`` when the
DAC rounds and clips; ``q``: a float); linear in ``k * q`` and returning a fresh tensor."""
Record = Callable[[Tensor, float], None]
"""Called with ``k, step`` of every pass: the DAC levels are ``k * step`` (cost counters)."""


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


def _pass(k: Tensor, q: float, partials: Partials, adc: ADC | None, noise: float, generator: torch.Generator,
          track_saturation: bool) -> tuple[Tensor, Tensor | None]:
    """Sum over arrays of the digitised partial outputs, in ADC codes, for DAC levels ``k * q``
    already multiplied by ``1/step`` (folded into the small input instead of the large partial
    outputs)."""
    step = adc.step if adc is not None else 1.0
    p = partials(k, q)
    if noise > 0:
        p.add_(torch.randn(p.shape, generator=generator, device=p.device, dtype=p.dtype), alpha=noise / step)
    if adc is None:
        return (p[0] if p.shape[0] == 1 else p.sum(dim=0)), None
    saturated = None
    if track_saturation:
        saturated = (p.abs() >= adc.output_range / step).any(dim=2).any(dim=0)
    return adc.convert_codes_sum_(p), saturated


def analog_mvm(x: Tensor, *, dac: DAC | None, adc: ADC | None, noise_management: str,
               bound_management: BoundManagement | None, output_noise: float, partials: Partials,
               generator: torch.Generator, record: Record, scratch: Tensor | None = None) -> Tensor:
    """Digital output (batch, n_out) of one MVM of ``x`` (batch, n_in) through the periphery.

    With ``alpha`` the per-vector input scale (noise management, or the DAC's input range):
    ``y = alpha * sum_arrays ADC(partial_a(DAC(x / alpha)) + output_noise * xi)``. Each array's
    partial output is digitised on its own and the results are summed digitally. With bound
    management, vectors whose output saturated any column are repeated with ``alpha`` multiplied
    by ``shrink`` (the same conductance read reused) until no column saturates or the repeat
    budget is spent. With every option off this is exactly ``partials(x, 1.0)`` summed.
    ``scratch``: optional buffer of ``x``'s shape for the DAC levels (saves an allocation).
    """
    ideal_scale = dac is None and noise_management == "none" and (bound_management is None or adc is None)
    alpha = None if ideal_scale else input_scale(x, noise_management, dac.input_range if dac else 1.0)
    step = adc.step if adc is not None else 1.0
    k, q = _levels(x, alpha, dac, 1.0 / step, scratch)
    record(k, q * step)
    bm = bound_management if adc is not None else None
    y, saturated = _pass(k, q, partials, adc, output_noise, generator, bm is not None)
    if bm is not None:
        for _ in range(bm.max_repeats):
            idx = saturated.nonzero().squeeze(1)
            if idx.numel() == 0:
                break
            alpha = alpha.index_copy(0, idx, alpha.index_select(0, idx) * bm.shrink)
            k_sub, q_sub = _levels(x.index_select(0, idx), alpha.index_select(0, idx), dac, 1.0 / step, None)
            record(k_sub, q_sub * step)
            y_sub, sat_sub = _pass(k_sub, q_sub, partials, adc, output_noise, generator, True)
            y = y.index_copy(0, idx, y_sub)
            saturated = torch.zeros_like(saturated).index_copy(0, idx, sat_sub)
    if alpha is None:
        return y if step == 1.0 else y.mul_(step)
    return y.mul_(alpha * step) if step != 1.0 else y.mul_(alpha)
