"""EnergyNetwork: the layered Hopfield network whose weight matrices are analog tiles (or floats)."""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor, nn

from memlearn.nn.tile import AnalogTile, TileConfig


class DigitalMatrix(nn.Module):
    """A float weight matrix with the tile's circuit interface, for digital EP baselines.

    ``forward_circuit(x) = x W^T`` and ``backward_circuit(d) = d W``; ``weight`` is an
    ``nn.Parameter`` whose ``.grad`` EP writes so that any torch optimizer can step it.
    """

    def __init__(self, in_features: int, out_features: int, *, device: torch.device | str | None = None) -> None:
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = nn.Parameter(torch.zeros(out_features, in_features, device=device))

    def weights(self) -> Tensor:
        return self.weight.detach()

    def forward_circuit(self, x: Tensor) -> Tensor:
        return x @ self.weight.T

    def backward_circuit(self, d: Tensor) -> Tensor:
        return d @ self.weight

    @torch.no_grad()
    def set_weights_exact(self, w: Tensor) -> None:
        self.weight.copy_(w)


class EnergyNetwork(nn.Module):
    """Layered energy-based network ``sizes[0] -> ... -> sizes[-1]`` for equilibrium propagation.

    Layer 0 is the clamped input; every other layer is free and relaxes. Weight ``l`` connects
    layer ``l`` to ``l + 1`` and is an :class:`AnalogTile` (``analog=True``: every relaxation step
    reads it through ``forward_circuit`` / ``backward_circuit``, so DAC/ADC, read noise and IR drop
    apply) or a :class:`DigitalMatrix` (float baseline). Biases are digital parameters.

    Weights start Glorot-uniform (Scellier & Bengio 2017, Sec. 5; Glorot & Bengio, AISTATS 2010),
    scaled by ``init_gain``, and are written to tiles directly (a digital initialisation).

    Args:
        sizes: layer widths including input and output, at least two, each >= 1.
        tile_config: physics of every tile (ignored when ``analog`` is False).
        seed: tile ``l`` uses seed ``seed + 1000 l`` (generator and initial weights).
        analog: tiles (True) or float matrices (False) with the same initial weights.
        init_gain: multiplies the Glorot bound (> 0).
    """

    def __init__(self, sizes: Sequence[int], tile_config: TileConfig | None = None, seed: int = 0, analog: bool = True,
                 *, init_gain: float = 1.0, device: torch.device | str | None = None) -> None:
        super().__init__()
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes={sizes!r} must list at least two layer widths, each >= 1")
        if not init_gain > 0:
            raise ValueError(f"init_gain={init_gain!r} must be > 0")
        self.sizes = tuple(sizes)
        self.analog = bool(analog)
        mats: list[nn.Module] = []
        for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layer_seed = seed + 1000 * l
            init = torch.Generator().manual_seed(layer_seed + 1)
            bound = init_gain * math.sqrt(6.0 / (n_in + n_out))
            w0 = ((torch.rand(n_out, n_in, generator=init) * 2 - 1) * bound).to(device)
            mat = (AnalogTile(n_in, n_out, tile_config, seed=layer_seed, device=device) if analog
                   else DigitalMatrix(n_in, n_out, device=device))
            mat.set_weights_exact(w0)
            mats.append(mat)
        self.weights = nn.ModuleList(mats)
        self.biases = nn.ParameterList([nn.Parameter(torch.zeros(n, device=device)) for n in sizes[1:]])

    @property
    def n_free_layers(self) -> int:
        return len(self.sizes) - 1

    def tiles(self) -> list[AnalogTile]:
        """The analog tiles, in layer order (empty for a digital network)."""
        return [m for m in self.weights if isinstance(m, AnalogTile)]

    def weight_matrices(self) -> list[Tensor]:
        """What the network holds, ``W_l`` (n_{l+1}, n_l), read without noise or periphery."""
        return [m.weights() for m in self.weights]

    def bias_vectors(self) -> list[Tensor]:
        return [b.detach() for b in self.biases]

    def zero_state(self, x: Tensor) -> tuple[Tensor, ...]:
        """All free units at 0, on ``x``'s device and dtype: the usual start of the free phase."""
        return tuple(torch.zeros(x.shape[0], n, dtype=x.dtype, device=x.device) for n in self.sizes[1:])

    def extra_repr(self) -> str:
        return f"sizes={self.sizes}, analog={self.analog}"
