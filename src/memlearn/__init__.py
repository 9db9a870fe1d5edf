"""memlearn: simulate memristor crossbars and train neural networks on the chip.

The curated public API; each name is imported from its home module on first use, so ``import
memlearn`` stays fast and never fails because one optional part is missing.

    >>> import memlearn as ml
    >>> layer = ml.AnalogLinear(64, 10, config=ml.TileConfig(device=ml.get_preset("EpiRAM")))
    >>> opt = ml.AnalogSGD(layer, lr=0.1, rule=ml.StochasticPulse())
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # devices
    "Device": "memlearn.devices",
    "get_preset": "memlearn.devices",
    "list_presets": "memlearn.devices",
    "device_from_dict": "memlearn.experiments.device_section",
    "Ideal": "memlearn.devices",
    "LinearStep": "memlearn.devices",
    "SoftBounds": "memlearn.devices",
    "ExpLtpLtd": "memlearn.devices",
    "PCMResponse": "memlearn.devices",
    "ReadNoise": "memlearn.devices",
    "Drift": "memlearn.devices",
    "Faults": "memlearn.devices",
    # crossbar and periphery
    "Crossbar": "memlearn.crossbar.crossbar",
    "model_cost": "memlearn.crossbar.cost",
    "ADC": "memlearn.periphery.adc",
    "DAC": "memlearn.periphery.dac",
    # layers
    "TileConfig": "memlearn.nn",
    "AnalogTile": "memlearn.nn",
    "AnalogLinear": "memlearn.nn",
    "AnalogConv2d": "memlearn.nn",
    "convert_to_analog": "memlearn.nn",
    "convert_to_digital": "memlearn.nn",
    # learning rules
    "AnalogSGD": "memlearn.rules",
    "UpdateRequest": "memlearn.rules",
    "StochasticPulse": "memlearn.rules",
    "DeterministicPulse": "memlearn.rules",
    "Manhattan": "memlearn.rules",
    "MixedPrecision": "memlearn.rules",
    "TikiTaka": "memlearn.rules",
    "chain": "memlearn.rules",
    # data
    "load_digits": "memlearn.datasets",
    "load_mnist": "memlearn.datasets",
    "load_npz": "memlearn.user_data",
    "load_omniglot": "memlearn.omniglot",
    # experiments
    "build_mlp": "memlearn.experiments.training",
    "train_epoch": "memlearn.experiments.training",
    "evaluate": "memlearn.experiments.training",
    "run_experiment": "memlearn.experiments.runner",
    "run_sweep": "memlearn.experiments.sweep",
    "build_report": "memlearn.experiments.report",
}
"""Public name -> module that defines it."""

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'memlearn' has no attribute {name!r}")
    try:
        value = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise AttributeError(f"memlearn.{name} is unavailable in this installation ({exc})") from exc
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
