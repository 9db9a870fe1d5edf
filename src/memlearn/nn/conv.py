"""AnalogConv2d: torch.nn.Conv2d whose kernel lives on an analog tile (im2col)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.modules.utils import _pair

from memlearn.nn.tile import AnalogTile, TileConfig

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class AnalogConv2d(nn.Module):
    """2-D convolution computed as one tile MVM per output pixel (im2col).

    The kernel (out_channels, in_channels, kh, kw) is flattened to a (out, in*kh*kw) matrix on an
    :class:`AnalogTile`; every input patch (``F.unfold``) is one input vector, so a batch of
    ``N`` images of ``L`` output pixels is ``N*L`` analog MVMs (the mapping of Gokmen et al.,
    Front. Neurosci. 2017). Same constructor arguments as :class:`torch.nn.Conv2d` (``groups``
    must be 1), plus the tile config and a seed; the bias is digital.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", config: TileConfig | None = None,
                 *, seed: int = 0, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        if groups != 1:
            raise ValueError(f"AnalogConv2d supports groups=1 only, got groups={groups}")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode={padding_mode!r} must be one of {_PADDING_MODES}")
        if dtype not in (None, torch.float32):
            raise ValueError(f"AnalogConv2d supports dtype=torch.float32 only, got {dtype}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size, self.stride, self.dilation = _pair(kernel_size), _pair(stride), _pair(dilation)
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(f"padding={padding!r} must be 'valid', 'same' or integers")
            if padding == "same" and self.stride != (1, 1):
                raise ValueError("padding='same' needs stride=1 (as in torch.nn.Conv2d)")
            total = [0, 0] if padding == "valid" else [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
            # torch pads 'same' asymmetrically for even kernels: the extra row/column goes right/bottom.
            self._pad = (total[1] // 2, total[1] - total[1] // 2, total[0] // 2, total[0] - total[0] // 2)
        else:
            ph, pw = _pair(padding)
            self._pad = (pw, pw, ph, ph)
        self.padding = padding if isinstance(padding, str) else _pair(padding)
        self.groups, self.padding_mode = 1, padding_mode
        fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        self.tile = AnalogTile(fan_in, self.out_channels, config, seed=seed, device=device)
        self.tile.name = (f"AnalogConv2d({in_channels}, {out_channels}, kernel_size={self.kernel_size})")
        bound = 1.0 / math.sqrt(fan_in)
        init = torch.Generator().manual_seed(seed + 1)
        w0 = (torch.rand(self.out_channels, fan_in, generator=init) * 2 - 1) * bound
        self.tile.set_weights_exact(w0.to(device) if device is not None else w0)
        self.bias = nn.Parameter((torch.rand(self.out_channels, generator=init) * 2 - 1).mul_(bound).to(device)) if bias else None

    @property
    def weight(self) -> Tensor:
        """The kernel the chip holds (read back without noise), (out, in, kh, kw)."""
        return self.tile.weights().reshape(self.out_channels, self.in_channels, *self.kernel_size)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() not in (3, 4) or x.shape[-3] != self.in_channels:
            raise ValueError(f"{self.tile.name}: expected input (N, {self.in_channels}, H, W), got shape {tuple(x.shape)}")
        squeeze = x.dim() == 3
        if squeeze:
            x = x.unsqueeze(0)
        left, right, top, bottom = self._pad
        if self.padding_mode != "zeros" or left != right or top != bottom:
            if any(self._pad):
                x = F.pad(x, self._pad, mode="constant" if self.padding_mode == "zeros" else self.padding_mode)
            padding = (0, 0)
        else:
            padding = (top, left)
        n, _, h, w = x.shape
        kh, kw = self.kernel_size
        h_out = (h + 2 * padding[0] - self.dilation[0] * (kh - 1) - 1) // self.stride[0] + 1
        w_out = (w + 2 * padding[1] - self.dilation[1] * (kw - 1) - 1) // self.stride[1] + 1
        if h_out < 1 or w_out < 1:
            raise ValueError(f"{self.tile.name}: input {h}x{w} is smaller than the kernel {kh}x{kw} (after padding)")
        cols = F.unfold(x, self.kernel_size, dilation=self.dilation, padding=padding, stride=self.stride)
        y = self.tile(cols.transpose(1, 2))  # (N, L, out)
        if self.bias is not None:
            y = y + self.bias
        y = y.transpose(1, 2).reshape(n, self.out_channels, h_out, w_out)
        return y.squeeze(0) if squeeze else y

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, bias={self.bias is not None}")
