"""On-chip learning rules: how an UpdateRequest becomes programming pulses.

Every rule is an immutable config with explicit state (``init``/``update``) that returns
:class:`Pulses` and never writes the tile; ``apply_update`` hands them to the tile, the one write
seam. ``chain(...)`` composes request transforms, a rule and pulse transforms; ``AnalogSGD``
drives them with the torch.optim API.
"""

from memlearn.nn.pulses import Pulses
from memlearn.rules.analog_sgd import AnalogSGD
from memlearn.rules.chain import Chain, ClipError, ScaleLR, chain
from memlearn.rules.deterministic import DeterministicPulse
from memlearn.rules.manhattan import Manhattan
from memlearn.rules.mixed_precision import MixedPrecision
from memlearn.rules.rule import PulseTransform, Rule, Transform, apply_update
from memlearn.rules.stochastic import StochasticPulse
from memlearn.rules.tiki_taka import TikiTaka
from memlearn.rules.update_request import UpdateRequest

__all__ = [
    "AnalogSGD",
    "Chain",
    "ClipError",
    "DeterministicPulse",
    "Manhattan",
    "MixedPrecision",
    "PulseTransform",
    "Pulses",
    "Rule",
    "ScaleLR",
    "StochasticPulse",
    "TikiTaka",
    "Transform",
    "UpdateRequest",
    "apply_update",
    "chain",
]
