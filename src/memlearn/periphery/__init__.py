"""Circuits around the arrays: input DACs, output ADCs (clip + quantise, straight-through
gradient), noise and bound management, and pulse coding for updates (pulse_coding.py)."""

from memlearn.periphery.adc import ADC
from memlearn.periphery.dac import DAC
from memlearn.periphery.management import BoundManagement, input_scale
from memlearn.periphery.quantise import n_levels, quantise

__all__ = [
    "ADC",
    "BoundManagement",
    "DAC",
    "input_scale",
    "n_levels",
    "quantise",
]
