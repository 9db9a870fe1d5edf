"""Device physics: one memristive device type, vectorised over arrays of any shape.

A :class:`Device` is a pulse response (``responses/``) plus independent effects (read noise,
drift, faults); ``presets`` holds cited published devices (config sections become devices in
``memlearn.experiments.device_section``), ``fit`` fits the exponential LTP/LTD model to measured pulse trains.
"""

from memlearn.devices.device import Device
from memlearn.devices.drift import Drift
from memlearn.devices.faults import Faults
from memlearn.devices.presets import PresetInfo, get_preset, list_presets, preset_info
from memlearn.devices.read_noise import ReadNoise
from memlearn.devices.response import PulseResponse
from memlearn.devices.responses import ExpLtpLtd, Ideal, LinearStep, PCMResponse, SoftBounds
from memlearn.devices.state import DeviceState

__all__ = [
    "Device",
    "DeviceState",
    "Drift",
    "ExpLtpLtd",
    "Faults",
    "Ideal",
    "LinearStep",
    "PCMResponse",
    "PresetInfo",
    "PulseResponse",
    "ReadNoise",
    "SoftBounds",
    "get_preset",
    "list_presets",
    "preset_info",
]
