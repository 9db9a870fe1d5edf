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


RUNAWAY_FACTOR = 100.0
"""A loss above this multiple of the chance-level loss is a runaway (the run stops as diverged)."""

CHANCE_SIGMAS = 3.0
"""An accuracy within this many binomial standard deviations of chance counts as chance level."""


def check_value(value: float, what: str, where: str, fix: str, model: nn.Module | None = None) -> None:
    """Raise :class:`DivergenceError` if ``value`` (a loss or any figure) is NaN or infinite."""
    if not math.isfinite(value):
        raise DivergenceError(f"{what} became {value} at {where}: training diverged; {fix}",
                              tile_stats(model) if model is not None else [])


def check_runaway(loss: float, chance_loss: float, what: str, where: str, fix: str,
                  model: nn.Module | None = None) -> None:
    """Raise :class:`DivergenceError` if ``loss`` is NaN/inf or above ``RUNAWAY_FACTOR`` times the loss
    of a chance-level predictor (``chance_loss``: ln(C) for cross-entropy)."""
    check_value(loss, what, where, fix, model)
    if loss > RUNAWAY_FACTOR * chance_loss:
        raise DivergenceError(f"{what} = {loss:.6g} at {where} is over {RUNAWAY_FACTOR:g}x the chance-level loss "
                              f"{chance_loss:.3g}: training ran away; {fix}",
                              tile_stats(model) if model is not None else [])


def chance_threshold(chance: float, n: int) -> float:
    """Highest accuracy that is still chance level on ``n`` test samples: ``p + k sqrt(p (1 - p) / n)``
    with ``p = chance`` and ``k = CHANCE_SIGMAS`` (the binomial spread of a guessing classifier)."""
    return chance + CHANCE_SIGMAS * math.sqrt(chance * (1 - chance) / max(int(n), 1))


def chance_problem(accuracy: float | None, chance: float, n: int, what: str, fix: str) -> dict | None:
    """``{"status": "at_chance", "reason": ...}`` if ``accuracy`` is at or below chance level
    (see :func:`chance_threshold`) or not a finite number; None when it is above."""
    if accuracy is None or not math.isfinite(accuracy):
        return {"status": "diverged", "reason": f"{what} is {accuracy}: {fix}"}
    limit = chance_threshold(chance, n)
    if accuracy <= limit:
        return {"status": "at_chance",
                "reason": f"{what} {accuracy:.4f} is at chance level (chance {chance:.3f}; anything up to "
                          f"{limit:.3f} on {n} samples is indistinguishable from guessing): {fix}"}
    return None


def verdict(problems: list[dict | None]) -> dict:
    """The summary fields of the first problem found (``status``, ``reason``, all ``problems``), or {}."""
    found = [p for p in problems if p is not None]
    if not found:
        return {}
    return {"status": found[0]["status"], "reason": found[0]["reason"], "problems": [p["reason"] for p in found]}
