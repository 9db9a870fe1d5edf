"""Numerical health of a run: stop on divergence with a diagnosis naming the layer and its devices.

A run whose loss turns NaN/inf, or whose devices all sit at their conductance bounds, cannot
learn any more; continuing would only produce a meaningless accuracy later. The checks here
raise :class:`DivergenceError` with per-layer device statistics instead.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from memlearn.nn.tile import AnalogTile

SATURATION_BAND = 0.01
"""A device within this fraction of (g_max - g_min) of either bound counts as saturated."""


class DivergenceError(RuntimeError):
    """The run diverged; ``diagnosis`` holds per-layer device statistics (also in the message)."""

    def __init__(self, reason: str, diagnosis: list[dict]) -> None:
        self.reason = reason
        self.diagnosis = diagnosis
        lines = [reason] + [_format(d) for d in diagnosis]
        super().__init__("\n  ".join(lines))


def _format(d: dict) -> str:
    return (f"layer {d['layer']}: {d['n_devices']} devices, {d['frac_at_gmin']:.1%} at g_min, "
            f"{d['frac_at_gmax']:.1%} at g_max, {d['n_nonfinite']} non-finite conductances, "
            f"weights mean {d['weight_mean']:.3g} std {d['weight_std']:.3g} |max| {d['weight_absmax']:.3g}, "
            f"{d['pulses']} pulses so far")


@torch.no_grad()
def tile_stats(model: nn.Module) -> list[dict]:
    """Per analog tile: saturation at each bound, non-finite conductances, weight statistics, pulses."""
    out = []
    for name, tile in model.named_modules():
        if not isinstance(tile, AnalogTile):
            continue
        g = tile.array.g
        state = tile.array.state
        band = SATURATION_BAND * (state.g_max - state.g_min)
        w = tile.weights()
        finite = torch.isfinite(w)
        wf = w[finite] if bool(finite.any()) else torch.zeros(1, device=w.device)
        out.append({
            "layer": name or "<root>",
            "n_devices": int(g.numel()),
            "frac_at_gmin": float((g <= state.g_min + band).float().mean()),
            "frac_at_gmax": float((g >= state.g_max - band).float().mean()),
            "n_nonfinite": int((~torch.isfinite(g)).sum()),
            "weight_mean": float(wf.mean()),
            "weight_std": float(wf.std()) if wf.numel() > 1 else 0.0,
            "weight_absmax": float(wf.abs().max()),
            "pulses": int(tile.array.n_writes.sum()),
        })
    return out


def check_loss(loss: float, where: str, model: nn.Module) -> None:
    """Raise :class:`DivergenceError` if ``loss`` is NaN or infinite."""
    if not math.isfinite(loss):
        raise DivergenceError(f"loss became {loss} at {where}: training diverged", tile_stats(model))


def check_devices(model: nn.Module, where: str, max_saturation: float) -> None:
    """Raise :class:`DivergenceError` if a layer's conductances are non-finite, or if at least
    ``max_saturation`` of its devices sit at a conductance bound (it can no longer learn)."""
    stats = tile_stats(model)
    for s in stats:
        if s["n_nonfinite"]:
            raise DivergenceError(f"layer {s['layer']} has {s['n_nonfinite']} non-finite conductances at {where}", stats)
        saturated = s["frac_at_gmin"] + s["frac_at_gmax"]
        if saturated >= max_saturation:
            raise DivergenceError(f"layer {s['layer']}: {saturated:.1%} of devices are saturated at a bound at {where} "
                                  f"(limit train.max_saturation = {max_saturation}); lower the learning rate "
                                  f"or use a device with more states", stats)
