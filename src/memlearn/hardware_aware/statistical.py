"""Deployment on a statistical PCM chip (:class:`memlearn.devices.pcm_like.PCMLikeDrift`): exact
targets plus the fitted programming error, target-dependent drift exponents, and the 1/f read
noise accumulated up to each read time (Joshi et al., Nat. Commun. 2020, Methods).

The fits describe what an iterative programming scheme leaves on a real array, so the tile's own
programmer (write-verify on a pulse model) is not run: the targets of the ``"min"`` pair placement
(idle device at 0) are written and the fitted error is drawn on them, as aihwkit's
``InferenceTile.program_weights`` does with the same model.
"""

from __future__ import annotations

import torch
from torch import Tensor

from memlearn.devices.device import Device
from memlearn.devices.pcm_like import PCMLikeDrift
from memlearn.hardware_aware.placement import pair_targets
from memlearn.nn.tile import AnalogTile


def statistical_model(device: Device) -> PCMLikeDrift | None:
    """The device's statistical PCM model, or None for a pulse-programmed device."""
    return device.drift if isinstance(device.drift, PCMLikeDrift) else None


@torch.no_grad()
def program_statistical(tile: AnalogTile, w: Tensor, model: PCMLikeDrift, generator: torch.Generator) -> Tensor:
    """Program ``w`` (out, in) onto a fresh tile with the statistical model; returns the programmed
    conductances ``G_P`` (in, 2*out) and stores the targets' drift exponents in the tile's state."""
    tile.array.reset()
    tile.set_weights_exact(w)  # sets the weight scale (tile or column) the tile reads with
    response = tile.config.device.response
    g_target = pair_targets(w.to(tile.w_scale) / tile.w_scale[:, None], float(response.g_min),
                            float(response.g_max), "min", tile.config.mapping)
    g_programmed = model.program(g_target, generator)
    tile.array.set_conductances(g_programmed)
    tile.array.state_drift_nu.copy_(model.drift_exponents(g_target, generator))
    return g_programmed
