"""Line pulse trains: how one update's ``(x, d, lr)`` become the stochastic pulse trains of the
input and error lines (Gokmen & Vlasov, Front. Neurosci. 2016; update and BL management of
Gokmen et al. 2017 and aihwkit): probability scales, stream lengths, 15-bit firing levels and the
uniforms of the slots that can fire. :mod:`memlearn.periphery.pulse_coding` turns them into
coincidence counts; on the CPU the preparation is one compiled pass
(:mod:`memlearn.periphery._train_kernel`), bit for bit this module's torch definition.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from memlearn import _numba
from memlearn.periphery._train_kernel import prepare_trains

_P_BITS = 15
"""Resolution of the pulse-probability comparator: probabilities are compared against 15-bit
uniform integers, as a hardware LFSR-based stochastic pulse generator would (so a probability is
quantised to 2^-15; the bias is below 3e-5 in probability)."""
P_ONE = 1 << _P_BITS


def management_scales(x: Tensor, d: Tensor, lr: float, dw_min: float, bl: Tensor | int,
                      update_management: bool = True) -> tuple[Tensor, Tensor]:
    """Per-sample probability scales ``c_x``, ``c_d`` with ``p_x = c_x |x|``, ``p_d = c_d |d|``.

    The expected coincidences ``BL p_x p_d`` times ``dw_min`` must equal ``lr |x d|``, so
    ``c_x c_d = lr / (BL dw_min)`` (Gokmen & Vlasov 2016, Eq. 6). With update management
    (Gokmen et al., Front. Neurosci. 2017, Sec. 2.3) the product is split so that the largest
    probabilities of both streams are equal, ``c_x max|x| = c_d max|d|``, which keeps both
    below 1 as long as the requested update is reachable within BL pulses; otherwise
    ``c_x = c_d = sqrt(lr / (BL dw_min))``.

    Args:
        x: (batch, in); d: (batch, out).
        bl: stream length, an int or a (batch, 1) tensor.

    Returns:
        ``(c_x, c_d)``, each (batch, 1).
    """
    x_max = x.abs().amax(dim=1, keepdim=True)
    d_max = d.abs().amax(dim=1, keepdim=True)
    return scales_from_max(x_max, d_max, lr, dw_min, bl, update_management)


def scales_from_max(x_max: Tensor, d_max: Tensor, lr: float, dw_min: float, bl: Tensor | int,
                    update_management: bool) -> tuple[Tensor, Tensor]:
    """:func:`management_scales` from the per-sample maxima (batch, 1)."""
    k = lr / (dw_min * (bl if isinstance(bl, Tensor) else float(bl)))
    c = torch.as_tensor(k, dtype=x_max.dtype, device=x_max.device).expand(x_max.shape[0], 1).sqrt()
    if not update_management:
        return c, c
    ratio = (d_max.clamp_min(1e-30) / x_max.clamp_min(1e-30)).sqrt_()
    return c * ratio, c / ratio


def managed_lengths(x: Tensor, d: Tensor, lr: float, dw_min: float, bl: int) -> Tensor:
    """Stream length of every sample with BL management (aihwkit's ``update_bl_management``, which
    sizes each vector's trains on its own): the fewest pulses that can still express the sample's
    largest requested update, ``ceil(lr max|x| max|d| / dw_min)``, at most ``bl``, at least 1.

    Returns a (batch,) int64 tensor."""
    return lengths_from_max(x.abs().amax(dim=1), d.abs().amax(dim=1), lr, dw_min, bl)


def lengths_from_max(x_max: Tensor, d_max: Tensor, lr: float, dw_min: float, bl: int) -> Tensor:
    """:func:`managed_lengths` from the per-sample maxima (any shape), int64 of that shape."""
    return (x_max * d_max).mul_(lr / dw_min).ceil_().clamp_(1, bl).to(torch.int64)


def uniforms(count: int, generator: torch.Generator, device: torch.device) -> Tensor:
    """``count`` int16 uniforms in [0, 2^15): 64-bit random words used as four 15-bit uniforms each
    (about 8x cheaper than one float draw per bit)."""
    words = torch.empty((count + 3) // 4, dtype=torch.int64, device=device).random_(generator=generator)
    return words.view(torch.int16)[:count].bitwise_and_(P_ONE - 1)


def firing_levels(p: Tensor) -> Tensor:
    """int16 levels: a uniform ``u <= level`` fires with probability ``round(p 2^15) / 2^15``,
    exactly 0 at ``p = 0`` (level -1) and 1 at ``p = 1``."""
    return (p.clamp(0.0, 1.0) * P_ONE).round_().sub_(1).to(torch.int16)


class LineTrains(NamedTuple):
    """One update's pulse trains on the input and error lines, as drawn. Uniforms are drawn only for
    the slots that can fire: for every sample ``b`` (in order), slot ``t < lengths[b]`` and line with
    a firing level >= 0, in
    (sample, slot, line) order; ``level_*`` (batch, lines) int16, ``sign_*`` (batch, lines) int8."""

    pool_x: Tensor
    pool_d: Tensor
    level_x: Tensor
    level_d: Tensor
    sign_x: Tensor
    sign_d: Tensor  # carries the descent sign
    lengths: Tensor
    dtype: torch.dtype
    """The inputs' dtype (the torch path forms the streams in it)."""
    bl: int
    """The longest a stream may be (``lengths <= bl``)."""

    @property
    def batch(self) -> int:
        return self.level_x.shape[0]


def line_trains(x: Tensor, d: Tensor, lr: float, dw_min: float, bl: int, generator: torch.Generator, *,
                update_management: bool = True, bl_management: bool = True) -> LineTrains:
    """Draw one update's pulse trains (Gokmen & Vlasov 2016, Eq. 5-6): probabilities from
    :func:`management_scales`, each sample's length from :func:`managed_lengths` (with
    ``bl_management``), 15-bit uniforms only for the slots that can fire (see :class:`LineTrains`).
    ``x`` (batch, in) and ``d`` (batch, out) are not modified."""
    return _draw_streams(x, d, lr, dw_min, bl, generator, update_management, bl_management)


def _draw_streams(x: Tensor, d: Tensor, lr: float, dw_min: float, bl: int, generator: torch.Generator,
                  update_management: bool, bl_management: bool) -> LineTrains:
    prepared = None
    if _numba.usable(x, d) and x.dtype == d.dtype == torch.float32:
        prepared = _compiled_preparation(x, d, lr, dw_min, bl, update_management, bl_management)
    if prepared is None:
        prepared = _preparation(x, d, lr, dw_min, bl, update_management, bl_management)
    level_x, level_d, sign_x, sign_d, lengths, slots_x, slots_d = prepared
    pool_x = uniforms(slots_x, generator, x.device)
    pool_d = uniforms(slots_d, generator, x.device)
    return LineTrains(pool_x, pool_d, level_x, level_d, sign_x, sign_d, lengths, x.dtype, bl)


def _preparation(x: Tensor, d: Tensor, lr: float, dw_min: float, bl: int, update_management: bool,
                 bl_management: bool) -> tuple:
    """Levels, signs, lengths and slot counts of the trains (the definition)."""
    batch = x.shape[0]
    x_abs, d_abs = x.abs(), d.abs()
    x_max = x_abs.amax(dim=1, keepdim=True) if x.shape[1] else x_abs.new_zeros(batch, 1)
    d_max = d_abs.amax(dim=1, keepdim=True) if d.shape[1] else d_abs.new_zeros(batch, 1)
    if bl_management:
        lengths = lengths_from_max(x_max, d_max, lr, dw_min, bl).view(batch)
    else:
        lengths = torch.full((batch,), bl, dtype=torch.int64, device=x.device)
    c_x, c_d = scales_from_max(x_max, d_max, lr, dw_min, lengths.unsqueeze(1).to(x.dtype), update_management)
    level_x, level_d = firing_levels(x_abs.mul_(c_x)), firing_levels(d_abs.mul_(c_d))
    # Lines that cannot fire (zero input or error) need no draws: most pixels of an image are 0.
    slots = torch.stack([level_x.ge(0).sum(1), level_d.ge(0).sum(1)]).mul_(lengths).sum(1).tolist()
    return (level_x, level_d, x.sign().to(torch.int8), d.sign().neg_().to(torch.int8), lengths, slots[0], slots[1])


def _compiled_preparation(x: Tensor, d: Tensor, lr: float, dw_min: float, bl: int, update_management: bool,
                          bl_management: bool) -> tuple | None:
    """:func:`_preparation` in one compiled pass, bit for bit; ``None`` for non-finite inputs (the
    torch path decides what they mean)."""
    consts = np.array([lr, dw_min, lr / dw_min, 1e-30], dtype=np.float32)  # rounded as torch rounds them
    *arrays, slots_x, slots_d, finite = prepare_trains(
        x.detach().contiguous().numpy(), d.detach().contiguous().numpy(), consts, bl, update_management, bl_management)
    return (*map(torch.from_numpy, arrays), slots_x, slots_d) if finite else None
