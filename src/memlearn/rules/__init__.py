"""On-chip learning rules: how an UpdateRequest becomes programming pulses.

Every rule is an immutable config with explicit state (``init``/``apply``), composable with
digital pre-transforms by ``chain(...)``; ``AnalogSGD`` drives them with the torch.optim API.
"""

from memlearn.rules.analog_sgd import AnalogSGD
from memlearn.rules.chain import Chain, ClipError, ScaleLR, chain
from memlearn.rules.deterministic import DeterministicPulse
from memlearn.rules.manhattan import Manhattan
from memlearn.rules.mixed_precision import MixedPrecision
from memlearn.rules.rule import Rule, Transform
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
    "Rule",
    "ScaleLR",
    "StochasticPulse",
    "TikiTaka",
    "Transform",
    "UpdateRequest",
    "chain",
]
