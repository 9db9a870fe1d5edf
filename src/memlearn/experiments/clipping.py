"""Per-layer DAC clipping and ADC saturation of a model's analog tiles, measured on sample inputs.

For every :class:`memlearn.nn.tile.AnalogTile` the input it sees is captured with a forward
pre-hook during a forward pass of a *copy* of the model (so the model's generators, cost counters
and pulse counts are untouched and runs stay bit-identical). Then, with the periphery's own range
definitions (:class:`memlearn.periphery.dac.DAC`, :class:`memlearn.periphery.adc.ADC`):

- the DAC's normalised input is ``u = x / alpha`` with ``alpha = dac.input_range`` (1 without a
  DAC) or ``max |x|`` per vector under ``noise_management = "abs_max"``; an entry is *beyond full
  scale* when ``|u| > 1`` (clipped when a clipping DAC is configured);
- each physical array's normalised column output is ``p_aj = sum_{i in rows(a)} DAC(u)_i w_ji / w_scale_j``
  (the noise-free read of the tile's current weights, Periphery docstring of ``ADC``); it saturates
  when ``|p_aj| >= adc.output_range``. Bound management would repeat such vectors with smaller
  inputs; the fraction here is that of the first pass.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from memlearn.nn.tile import AnalogTile

WARN_FRACTION = 0.01
"""A layer whose DAC clips more than this fraction of its inputs is reported before training."""
SATURATED_FRACTION = 0.5
"""A run ends with status ``adc_saturated`` when a layer's ADC saturates more than this fraction of outputs."""


class InputRangeWarning(UserWarning):
    """The inputs exceed the chip's input range (clipped by the DAC, or far beyond its full scale)."""


@dataclass(frozen=True, kw_only=True)
class LayerClipping:
    """How much of one analog layer's signal is cut by its converters, on the measured inputs."""

    layer: str
    """Module name of the tile in the model."""
    beyond_full_scale: float
    """Fraction of input entries with ``|x / alpha| > 1`` (0..1)."""
    dac_clipped: float
    """Fraction of input entries the DAC clips: ``beyond_full_scale`` with a clipping DAC, else 0."""
    adc_saturated: float
    """Fraction of (array, vector, column) outputs at or beyond the ADC's full scale; 0 without an ADC."""
    input_absmax: float
    """Largest ``|x|`` the layer saw (input units)."""
    full_scale: float | None
    """The input that maps to full-scale voltage (``dac.input_range``, 1 without a DAC); ``None`` under
    abs-max noise management (every vector is scaled to fit)."""
    has_dac: bool
    """Whether a (clipping) forward DAC is configured."""
    has_adc: bool
    """Whether a forward ADC is configured."""

    def to_dict(self) -> dict:
        return {"layer": self.layer, "beyond_full_scale": self.beyond_full_scale, "dac_clipped": self.dac_clipped,
                "adc_saturated": self.adc_saturated, "input_absmax": self.input_absmax,
                "full_scale": self.full_scale, "has_dac": self.has_dac, "has_adc": self.has_adc}


def _inputs(model: nn.Module, x: Tensor) -> dict[str, Tensor]:
    """The input of every analog tile of a copy of ``model`` during one forward pass of ``x``."""
    twin = copy.deepcopy(model)
    seen: dict[str, Tensor] = {}
    hooks = []
    for name, tile in twin.named_modules():
        if isinstance(tile, AnalogTile):
            hooks.append(tile.register_forward_pre_hook(
                lambda mod, args, name=name: seen.__setitem__(name, args[0].detach().reshape(-1, mod.in_features))))
    try:
        with torch.no_grad():
            twin.eval()
            twin(x)
    finally:
        for h in hooks:
            h.remove()
    return seen


@torch.no_grad()
def _layer(name: str, tile: AnalogTile, x: Tensor) -> LayerClipping:
    cfg = tile.config
    dac, adc = cfg.dac, cfg.adc
    absmax = x.abs().amax(dim=1, keepdim=True)
    if cfg.noise_management == "abs_max":
        alpha, full_scale = torch.where(absmax > 0, absmax, torch.ones_like(absmax)), None
    else:
        full_scale = dac.input_range if dac is not None else 1.0
        alpha = torch.full_like(absmax, full_scale)
    u = x / alpha
    beyond = float((u.abs() > 1).float().mean())
    clips = dac is not None and dac.clip
    saturated = 0.0
    if adc is not None:
        levels = dac.convert(u) if dac is not None else u
        w_n = (tile.weights().detach() / tile.w_scale[:, None]).to(levels.dtype)  # (out, in)
        rows = tile.partition.array_rows
        total = hits = 0
        for start in range(0, tile.in_features, rows):  # one product per physical row chunk (a few arrays)
            p = levels[:, start:start + rows] @ w_n[:, start:start + rows].T
            hits += int((p.abs() >= adc.output_range).sum())
            total += p.numel()
        saturated = hits / max(total, 1)
    return LayerClipping(layer=name, beyond_full_scale=beyond, dac_clipped=beyond if clips else 0.0,
                         adc_saturated=saturated, input_absmax=float(x.abs().max()) if x.numel() else 0.0,
                         full_scale=full_scale, has_dac=dac is not None, has_adc=adc is not None)


def measure(model: nn.Module, x: Tensor, max_samples: int = 512) -> list[LayerClipping]:
    """Clipping of every analog layer of ``model`` for the first ``max_samples`` rows of ``x`` (n, features)."""
    seen = _inputs(model, x[:max_samples])
    tiles = dict(model.named_modules())
    return [_layer(name, tiles[name], inputs) for name, inputs in seen.items()]


def warnings_for(layers: list[LayerClipping]) -> list[str]:
    """One sentence per layer whose inputs are clipped (or far beyond full scale), with the fix."""
    out = []
    for c in layers:
        if c.dac_clipped > WARN_FRACTION:
            out.append(f"layer {c.layer}: the DAC clips {c.dac_clipped:.1%} of its inputs (inputs up to "
                       f"{c.input_absmax:.3g}, full scale {c.full_scale:.3g}); normalise the data "
                       "(data.normalise = \"minmax\"), raise crossbar.dac.input_range, or use "
                       "crossbar.noise_management = \"abs_max\"")
        elif not c.has_dac and c.full_scale is not None and c.input_absmax > 10 * c.full_scale:
            out.append(f"layer {c.layer}: inputs reach {c.input_absmax:.3g}, {c.input_absmax / c.full_scale:.0f}x the "
                       f"full-scale input {c.full_scale:.3g} (no DAC is configured, so nothing is clipped, but a real "
                       "chip would clip them and the pulsed updates scale with x); normalise the data "
                       "(data.normalise = \"minmax\")")
    return out


def saturation_status(layers: list[LayerClipping]) -> tuple[str, str] | None:
    """``("adc_saturated", reason)`` when some layer's ADC saturates most outputs, else ``None``."""
    worst = max(layers, key=lambda c: c.adc_saturated, default=None)
    if worst is None or worst.adc_saturated <= SATURATED_FRACTION:
        return None
    return ("adc_saturated", f"layer {worst.layer}: {worst.adc_saturated:.1%} of the ADC outputs saturate at "
                             "crossbar.adc.output_range; raise it, lower the weight range (crossbar.mapping.w_max), "
                             "or use bound management (crossbar.bound_management)")
