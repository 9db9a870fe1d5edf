"""Pulse-response families, one per module: what n identical programming pulses do.

Each is a frozen dataclass implementing :class:`memlearn.devices.response.PulseResponse`.
"""

from memlearn.devices.responses.exp_ltp_ltd import ExpLtpLtd
from memlearn.devices.responses.ideal import Ideal
from memlearn.devices.responses.linear_step import LinearStep
from memlearn.devices.responses.pcm import PCMResponse
from memlearn.devices.responses.soft_bounds import SoftBounds

__all__ = [
    "ExpLtpLtd",
    "Ideal",
    "LinearStep",
    "PCMResponse",
    "SoftBounds",
]
