"""AnalogLinear: torch.nn.Linear whose weight lives on an analog tile."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from memlearn.nn.tile import AnalogTile, TileConfig


class AnalogLinear(nn.Module):
    """``y = W x + b`` with ``W`` in an :class:`AnalogTile` and ``b`` a digital parameter.

    Same constructor arguments as :class:`torch.nn.Linear`, plus the tile config and a seed.
    The weight is initialised like ``nn.Linear`` (uniform in ``+-1/sqrt(in)``) and written to the
    tile directly (a digital initialisation, not counted as training pulses).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, config: TileConfig | None = None,
                 *, seed: int = 0, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        if dtype not in (None, torch.float32):
            raise ValueError(f"AnalogLinear supports dtype=torch.float32 only, got {dtype}")
        self.in_features, self.out_features = in_features, out_features
        self.tile = AnalogTile(in_features, out_features, config, seed=seed, device=device)
        self.tile.name = f"AnalogLinear(in_features={in_features}, out_features={out_features})"
        bound = 1.0 / math.sqrt(in_features)
        init = torch.Generator().manual_seed(seed + 1)
        w0 = (torch.rand(out_features, in_features, generator=init) * 2 - 1) * bound
        self.tile.set_weights_exact(w0.to(device) if device is not None else w0)
        self.bias = nn.Parameter((torch.rand(out_features, generator=init) * 2 - 1).mul_(bound).to(device)) if bias else None

    @property
    def weight(self) -> Tensor:
        """The weights the chip holds (read back without noise), (out, in)."""
        return self.tile.weights()

    def forward(self, x: Tensor) -> Tensor:
        y = self.tile(x)
        return y + self.bias if self.bias is not None else y

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
