"""Device-to-device variation: parameters drawn once per device."""

from __future__ import annotations

import torch
from torch import Tensor


def spread(nominal: float, relative_std: float, shape, generator: torch.Generator, device=None,
           dtype: torch.dtype = torch.float32, minimum: float | None = None) -> Tensor:
    """``nominal * (1 + relative_std * xi)``, xi ~ N(0, 1), one draw per device.

    Relative Gaussian spread is the convention of Gokmen & Vlasov, Front. Neurosci. 2016
    (device-to-device variation of the step size) and of aihwkit's ``*_dtod`` fields.
    ``minimum`` clips the draw so that a wide spread cannot produce unphysical values.
    """
    out = torch.full(tuple(shape), float(nominal), device=device, dtype=dtype)
    if relative_std > 0:
        out = out * (1.0 + relative_std * torch.randn(tuple(shape), generator=generator, device=device, dtype=dtype))
    if minimum is not None:
        out = out.clamp_min(minimum)
    return out


def spread_bounds(g_min: float, g_max: float, relative_std: float, shape, generator: torch.Generator,
                  device=None, dtype: torch.dtype = torch.float32) -> tuple[Tensor, Tensor]:
    """Per-device ``(g_min, g_max)`` with the same relative spread, ``g_max`` kept above ``g_min``.

    One draw for each bound, in that order, so every response samples its bounds identically.
    """
    lo = spread(g_min, relative_std, shape, generator, device, dtype, minimum=0.0)
    hi = torch.maximum(spread(g_max, relative_std, shape, generator, device, dtype), lo * 1.001 + 1e-15)
    return lo, hi


def spread_asymmetry(asymmetry: float, absolute_std: float, shape, generator: torch.Generator,
                     device=None, dtype: torch.dtype = torch.float32) -> Tensor:
    """Per-device up/down imbalance ``a + absolute_std * xi`` (an absolute spread, like aihwkit's
    ``up_down_dtod``), clipped to [-0.99, 0.99] so that both directions keep a positive step."""
    out = torch.full(tuple(shape), float(asymmetry), device=device, dtype=dtype)
    if absolute_std > 0:
        out = out + absolute_std * torch.randn(tuple(shape), generator=generator, device=device, dtype=dtype)
    return out.clamp(-0.99, 0.99)
