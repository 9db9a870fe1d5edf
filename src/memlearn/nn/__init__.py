"""Analog PyTorch layers: tiles (DAC -> crossbar -> ADC inside autograd), linear and convolution
layers on tiles, and conversion of float models to analog ones and back."""

from memlearn.nn.conv import AnalogConv2d
from memlearn.nn.convert import (
    convert_to_analog,
    convert_to_digital,
    register_converter,
    register_read_time,
    set_read_time,
)
from memlearn.nn.linear import AnalogLinear
from memlearn.nn.pulses import Pulses
from memlearn.nn.tile import AnalogTile
from memlearn.nn.tile_config import TileConfig

__all__ = [
    "AnalogConv2d",
    "AnalogLinear",
    "AnalogTile",
    "Pulses",
    "TileConfig",
    "convert_to_analog",
    "convert_to_digital",
    "register_converter",
    "register_read_time",
    "set_read_time",
]
