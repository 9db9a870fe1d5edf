"""Fake quantisation with a straight-through estimator: weights to conductance levels,
inputs to DAC codes, outputs to ADC codes.

The straight-through estimator (Bengio, Leonard & Courville, arXiv:1308.3432, 2013) passes the
gradient of ``round`` through unchanged; clamp ranges are either calibrated from the data
(running maximum) or learned with the PACT gradient (Choi et al., arXiv:1805.06085, 2018:
``d clip(x, -r, r) / dr = sign(x)`` where ``|x| > r``, 0 elsewhere).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from memlearn.devices.device import Device
from memlearn.validation import check_range


def ste_round(x: Tensor) -> Tensor:
    """``round(x)`` in the forward pass, identity gradient in the backward pass."""
    return x + (torch.round(x) - x).detach()


def uniform_levels(n_levels: int, *, device: torch.device | str | None = None,
                   dtype: torch.dtype = torch.float32) -> Tensor:
    """``n_levels`` equally spaced normalised levels in [0, 1] (n_levels >= 2)."""
    check_range("n_levels", n_levels, 2, 1e7)
    return torch.linspace(0.0, 1.0, int(n_levels), device=device, dtype=dtype)


def device_levels(device_model: Device, n_levels: int | None = None, *, generator: torch.Generator | None = None,
                  torch_device: torch.device | str | None = None, dtype: torch.dtype = torch.float32) -> Tensor:
    """Normalised conductance levels in [0, 1] that the device reaches pulse by pulse from g_min.

    Level ``k`` is the expected conductance after ``k`` potentiating pulses from ``g_min``,
    ``E[g_k] = response.moments(g_min, k)``, normalised as ``(E[g_k] - g_min) / (E[g_{n-1}] - g_min)``.
    A nonlinear (saturating) response gives levels bunched towards g_max, as measured on
    ReRAM/PCM (e.g. the exponential LTP curves of the NeuroSim V3.0 device table, Chen et al.,
    IEEE TCAD 2018). The trajectory is averaged over 256 sampled devices (the chip's average
    device). ``n_levels`` defaults to the device's own number of states (mean ``n_states`` + 1).

    Args:
        device_model: the chip's device.
        n_levels: number of levels (>= 2); None = the device's states.
        generator: draws the device population (default: seeded with 0).
    Returns:
        (n_levels,) increasing tensor with first element 0 and last 1.
    """
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    n_dev = 256
    state = device_model.sample((n_dev,), gen, torch_device, dtype)
    if n_levels is None:
        n_levels = int(torch.round(device_model.n_states(state).mean()).clamp_min(1).item()) + 1
    check_range("n_levels", n_levels, 2, 1e7)
    k = torch.arange(int(n_levels), device=torch_device, dtype=torch.int64)
    p = {name: v[:, None].expand(n_dev, len(k)) for name, v in state.params.items()}
    g0 = p["g_min"]
    mean, _ = device_model.response.moments(g0.clone(), k.expand(n_dev, -1), p)
    # The population-average trajectory: the levels an average device of the chip reaches.
    rise = (torch.minimum(mean, p["g_max"]) - g0).mean(0)
    u = rise / rise[-1].clamp_min(torch.finfo(dtype).tiny)
    u = torch.cummax(u.clamp(0.0, 1.0), dim=0).values
    if bool((u[1:] <= u[:-1]).any()):
        raise ValueError(f"n_levels={n_levels} exceeds the distinguishable states of the device "
                         "(two levels coincide); choose fewer levels")
    return u


def quantize_to_levels(x: Tensor, levels: Tensor) -> Tensor:
    """Nearest level of a sorted level set, straight-through gradient.

    Args:
        x: any shape.
        levels: (n,) increasing.
    Returns:
        same shape as ``x``; every value is one of ``levels``.
    """
    levels = levels.to(device=x.device, dtype=x.dtype)
    idx = torch.bucketize(x.detach(), levels).clamp(1, len(levels) - 1)
    lo, hi = levels[idx - 1], levels[idx]
    q = torch.where((x.detach() - lo) <= (hi - x.detach()), lo, hi)
    return x + (q - x).detach()


class WeightQuantizer(nn.Module):
    """Weights (any shape) to the ``n`` weights a differential pair of the device can hold.

    With the symmetric differential mapping (``G+- = g_mid +- dg / 2``, see
    :class:`memlearn.crossbar.mapping.DifferentialMapping`) a device on normalised level ``u_k``
    encodes ``w = scale (2 u_k - 1)``, so the weight grid is the device's level grid mapped to
    ``[-scale, scale]`` with ``scale = max |w|`` (the per-layer range deployment uses too).
    The gradient is straight-through inside the range.

    Args:
        levels: (n,) normalised device levels in [0, 1] (from :func:`uniform_levels` or
            :func:`device_levels`).
    """

    def __init__(self, levels: Tensor) -> None:
        super().__init__()
        if levels.ndim != 1 or len(levels) < 2:
            raise ValueError(f"levels must be a 1-D tensor of >= 2 values, got shape {tuple(levels.shape)}")
        self.register_buffer("levels", levels.detach().clone())

    @property
    def n_levels(self) -> int:
        return int(self.levels.numel())

    def forward(self, w: Tensor, scale: Tensor) -> Tensor:
        """Quantised ``w`` for a full-scale weight ``scale`` (scalar tensor, > 0)."""
        u = (w / scale).clamp(-1.0, 1.0) * 0.5 + 0.5
        return (2.0 * quantize_to_levels(u, self.levels) - 1.0) * scale


class RangeQuantizer(nn.Module):
    """Signed uniform quantiser with clamping, ``2^bits - 1`` codes in ``[-r, r]``: a DAC or an ADC.

    ``q(x) = step * round(clip(x, -r, r) / step)``, ``step = r / (2^(bits-1) - 1)``.
    ``mode = "calibrated"``: ``r`` tracks the maximum ``|x|`` seen in training (exponential
    moving average with ``momentum``) and is frozen in eval mode; ``"learnable"``: ``r`` is a
    parameter trained by the PACT gradient; ``"fixed"``: ``r`` stays at ``init_range``.
    Common forward-pass periphery: 7-bit DAC, 9-bit ADC (Joshi et al., Nat. Commun. 2020 use
    8-bit DAC/ADC; aihwkit's ``IOParameters`` default to 7/9 bits).

    Args:
        bits: resolution (2..24).
        init_range: initial clamp range r (> 0, in the signal's units).
        mode: "calibrated", "learnable" or "fixed".
        momentum: EMA weight of the newest batch maximum for "calibrated" (0, 1].
    """

    MODES = ("calibrated", "learnable", "fixed")

    def __init__(self, bits: int, init_range: float = 1.0, mode: str = "calibrated", momentum: float = 0.1) -> None:
        super().__init__()
        check_range("bits", bits, 2, 24)
        if not init_range > 0:
            raise ValueError(f"init_range={init_range!r} must be > 0")
        if mode not in self.MODES:
            raise ValueError(f"mode={mode!r} must be one of {self.MODES}")
        check_range("momentum", momentum, 1e-6, 1.0)
        self.bits, self.mode, self.momentum = int(bits), mode, float(momentum)
        r = torch.tensor(float(init_range))
        if mode == "learnable":
            self.range = nn.Parameter(r)
        else:
            self.register_buffer("range", r)
        self.register_buffer("calibrated", torch.tensor(False))

    @property
    def n_levels(self) -> int:
        return 2 ** self.bits - 1

    def forward(self, x: Tensor) -> Tensor:
        if self.mode == "calibrated" and self.training:
            with torch.no_grad():
                m = x.detach().abs().max().clamp_min(1e-12).to(self.range)
                if bool(self.calibrated):
                    self.range.mul_(1.0 - self.momentum).add_(self.momentum * m)
                else:
                    self.range.copy_(m)
                    self.calibrated.fill_(True)
        r = self.range.abs().clamp_min(1e-12).to(x.dtype)
        xc = torch.minimum(torch.maximum(x, -r), r)
        step = r / (2 ** (self.bits - 1) - 1)
        return ste_round(xc / step) * step

    def extra_repr(self) -> str:
        return f"bits={self.bits}, mode={self.mode}, range={float(self.range):.4g}"
