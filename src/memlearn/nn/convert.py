"""Conversion between float models and analog models: a registry keyed on the module type.

``convert_to_analog`` replaces each ``nn.Linear``/``nn.Conv2d`` by its analog twin (weights
written to the tiles, optionally by write-verify programming); ``convert_to_digital`` goes back,
with the weights the chip holds. New layer types join with :func:`register_converter` (the
transform-registry pattern of pytorch/ao ``torchao/quantization/transform_module.py``).
"""

from __future__ import annotations

import copy
from typing import Callable

import torch
from torch import nn

from memlearn.nn.conv import AnalogConv2d
from memlearn.nn.linear import AnalogLinear
from memlearn.nn.tile import AnalogTile, TileConfig

Converter = Callable[[nn.Module, TileConfig, int], nn.Module]
"""(float module, tile config, seed) -> analog module holding the module's weights."""

_TO_ANALOG: dict[type[nn.Module], Converter] = {}
_TO_DIGITAL: dict[type[nn.Module], Callable[[nn.Module], nn.Module]] = {}


def register_converter(module_type: type[nn.Module], to_analog: Converter,
                       analog_type: type[nn.Module] | None = None,
                       to_digital: Callable[[nn.Module], nn.Module] | None = None) -> None:
    """Register how ``module_type`` becomes analog (and, optionally, how ``analog_type`` goes back)."""
    _TO_ANALOG[module_type] = to_analog
    if analog_type is not None and to_digital is not None:
        _TO_DIGITAL[analog_type] = to_digital


def _linear_to_analog(m: nn.Linear, config: TileConfig, seed: int) -> AnalogLinear:
    out = AnalogLinear(m.in_features, m.out_features, m.bias is not None, config, seed=seed, device=m.weight.device)
    out.tile.set_weights_exact(m.weight.detach())
    if m.bias is not None:
        out.bias.data.copy_(m.bias.detach())
    return out


def _conv_to_analog(m: nn.Conv2d, config: TileConfig, seed: int) -> AnalogConv2d:
    out = AnalogConv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, m.dilation, m.groups,
                       m.bias is not None, m.padding_mode, config, seed=seed, device=m.weight.device)
    out.tile.set_weights_exact(m.weight.detach().reshape(m.out_channels, -1))
    if m.bias is not None:
        out.bias.data.copy_(m.bias.detach())
    return out


def _linear_to_digital(m: AnalogLinear) -> nn.Linear:
    w = m.weight.detach()
    out = nn.Linear(m.in_features, m.out_features, m.bias is not None, device=w.device)
    out.weight.data.copy_(w)
    if m.bias is not None:
        out.bias.data.copy_(m.bias.detach())
    return out


def _conv_to_digital(m: AnalogConv2d) -> nn.Conv2d:
    w = m.weight.detach()
    out = nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, m.dilation, 1,
                    m.bias is not None, m.padding_mode, device=w.device)
    out.weight.data.copy_(w)
    if m.bias is not None:
        out.bias.data.copy_(m.bias.detach())
    return out


register_converter(nn.Linear, _linear_to_analog, AnalogLinear, _linear_to_digital)
register_converter(nn.Conv2d, _conv_to_analog, AnalogConv2d, _conv_to_digital)


def _replace(module: nn.Module, table: dict, make: Callable[[nn.Module, str, int], nn.Module], prefix: str,
             counter: list[int]) -> None:
    for name, child in list(module.named_children()):
        path = f"{prefix}.{name}" if prefix else name
        if type(child) in table:
            counter[0] += 1
            setattr(module, name, make(child, path, counter[0]))
        else:
            _replace(child, table, make, path, counter)


def convert_to_analog(model: nn.Module, config: TileConfig | None = None, *, seed: int = 0, program: bool = False,
                      inplace: bool = False) -> nn.Module:
    """Replace every registered float layer (``nn.Linear``, ``nn.Conv2d``) by its analog twin.

    Args:
        model: a float model (left unchanged unless ``inplace``).
        config: tile config of every converted layer (ideal tile if ``None``).
        seed: layer ``k`` (in module order) gets seed ``seed + k``.
        program: write the weights with the config's programmer (write-verify: pulses counted,
            programming error included) instead of setting the conductances exactly.
        inplace: convert ``model`` itself instead of a deep copy.
    Returns the analog model; each tile's ``name`` is the layer's path (used in error messages).
    A model that is itself a registered layer is converted as a whole.
    """
    config = config or TileConfig()
    model = model if inplace else copy.deepcopy(model)

    def make(child: nn.Module, path: str, k: int) -> nn.Module:
        analog = _TO_ANALOG[type(child)](child, config, seed + k)
        for tile in (m for m in analog.modules() if isinstance(m, AnalogTile)):
            tile.name = f"{path} ({tile.name})"
            if program:  # a fresh chip: reset, then write-verify the weights set above
                target = tile.weights().detach().clone()
                tile.array.reset()
                tile.program(target)
        return analog

    if type(model) in _TO_ANALOG:
        return make(model, type(model).__name__, 0)
    _replace(model, _TO_ANALOG, make, "", [0])
    return model


def convert_to_digital(model: nn.Module, *, inplace: bool = False) -> nn.Module:
    """Replace every analog layer by a float twin holding the weights the chip holds now."""
    model = model if inplace else copy.deepcopy(model)
    make = lambda child, path, k: _TO_DIGITAL[type(child)](child)
    if type(model) in _TO_DIGITAL:
        return _TO_DIGITAL[type(model)](model)
    _replace(model, _TO_DIGITAL, make, "", [0])
    return model


ReadTime = Callable[[nn.Module, "float | None", bool], None]
"""(layer, t, compensate) -> None: read the layer as ``t`` seconds after programming."""

_READ_TIME: dict[type[nn.Module], ReadTime] = {}


def register_read_time(module_type: type[nn.Module], read_at: ReadTime) -> None:
    """How :func:`set_read_time` sets a layer type that does more than its tiles' drift (a deployed
    layer's held noise and drift compensation); the walk does not descend into such a layer."""
    _READ_TIME[module_type] = read_at


def set_read_time(model: nn.Module, t: float | None, *, compensate: bool = False) -> None:
    """Evaluate ``model`` as ``t`` seconds after programming (drift): every analog tile, or the
    registered reader of a layer that wraps tiles. ``compensate`` turns on the global drift
    compensation of layers that have one (deployed layers); plain tiles have none."""
    read_at = _READ_TIME.get(type(model))
    if read_at is not None:
        read_at(model, t, compensate)
    elif isinstance(model, AnalogTile):
        model.set_read_time(t)
    else:
        for child in model.children():
            set_read_time(child, t, compensate=compensate)
