"""Stuck-at faults fixed at fabrication, and endurance: a device worn past its budget is stuck."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from memlearn.devices.state import FREE, STUCK_AT_GMAX, STUCK_AT_GMIN
from memlearn.validation import check_positive, check_probability, check_range


@dataclass(frozen=True, kw_only=True)
class Faults:
    """Stuck-at-Gmin / stuck-at-Gmax fractions and a write-cycle endurance budget.

    Stuck-at faults are independent Bernoulli draws per device (Chen et al., IEEE TCAD 2017,
    "Accelerator-friendly neural-network training: learning variations and defects in RRAM
    crossbar", report ~1.75% SA0 (stuck at Gmin) and ~9.04% SA1 (stuck at Gmax) in their array).
    Endurance is a per-device budget of write pulses, log-normally spread (Nail et al., IEDM 2016).
    """

    stuck_at_gmin: float = 0.0
    """Fraction of devices stuck at g_min (probability in [0, 1])."""
    stuck_at_gmax: float = 0.0
    """Fraction of devices stuck at g_max (probability in [0, 1]); the two must sum to <= 1."""
    endurance: float = math.inf
    """Median write-pulse budget per device (pulses, > 0; inf = unlimited)."""
    endurance_spread: float = 0.0
    """Std of log(endurance) across devices (>= 0)."""

    def __post_init__(self) -> None:
        check_probability("faults.stuck_at_gmin", self.stuck_at_gmin)
        check_probability("faults.stuck_at_gmax", self.stuck_at_gmax)
        if self.stuck_at_gmin + self.stuck_at_gmax > 1:
            raise ValueError("faults.stuck_at_gmin + faults.stuck_at_gmax must be <= 1")
        if not (math.isinf(self.endurance) and self.endurance > 0):
            check_positive("faults.endurance", self.endurance)
        check_range("faults.endurance_spread", self.endurance_spread, 0.0, 10.0)

    def sample(self, shape, generator, device=None, dtype=torch.float32) -> tuple[Tensor, Tensor]:
        """Fault codes (int8) and endurance budgets (float) for an array of ``shape``."""
        u = torch.rand(tuple(shape), generator=generator, device=device, dtype=dtype)
        fault = torch.full(tuple(shape), FREE, dtype=torch.int8, device=device)
        fault[u < self.stuck_at_gmin] = STUCK_AT_GMIN
        fault[(u >= self.stuck_at_gmin) & (u < self.stuck_at_gmin + self.stuck_at_gmax)] = STUCK_AT_GMAX
        if math.isinf(self.endurance):
            budget = torch.full(tuple(shape), math.inf, device=device, dtype=dtype)
        else:
            z = torch.randn(tuple(shape), generator=generator, device=device, dtype=dtype)
            budget = self.endurance * torch.exp(self.endurance_spread * z)
        return fault, budget
