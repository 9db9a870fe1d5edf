"""Hardware-aware training and deployment: fake quantisation (STE), noise and fault injection drawn
from the chip's own device model, deployment with write-verify, mapping-bias and drift
compensation, and accuracy over drift time across chip instances."""

from memlearn.hardware_aware.chip import ChipConfig, config_for_chip, estimate_programming_noise
from memlearn.hardware_aware.compensation import DeployedLayer
from memlearn.hardware_aware.config import HardwareAwareConfig
from memlearn.hardware_aware.deploy import ProgrammingReport, deploy
from memlearn.hardware_aware.evaluation import DRIFT_TIMES, DriftEvaluation, accuracy, evaluate_over_time
from memlearn.hardware_aware.layer import HardwareAwareLayer, prepare_hardware_aware, strip_hardware_aware
from memlearn.hardware_aware.programming_noise import ProgrammingNoise
from memlearn.nn.convert import set_read_time  # the one model-level read-time walk, with `compensate`
from memlearn.hardware_aware.quantization import (
    RangeQuantizer,
    WeightQuantizer,
    device_levels,
    quantize_to_levels,
    ste_round,
    uniform_levels,
)

__all__ = [
    "ChipConfig",
    "DRIFT_TIMES",
    "DeployedLayer",
    "DriftEvaluation",
    "HardwareAwareConfig",
    "HardwareAwareLayer",
    "ProgrammingNoise",
    "ProgrammingReport",
    "RangeQuantizer",
    "WeightQuantizer",
    "accuracy",
    "config_for_chip",
    "deploy",
    "device_levels",
    "estimate_programming_noise",
    "evaluate_over_time",
    "prepare_hardware_aware",
    "quantize_to_levels",
    "set_read_time",
    "ste_round",
    "strip_hardware_aware",
    "uniform_levels",
]
