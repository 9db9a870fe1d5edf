"""How the nudged phases are chosen: one-sided, symmetric (+beta/-beta) or random-sign beta."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from memlearn.validation import check_range

NudgeMode = Literal["positive", "symmetric", "random_sign"]
_MODES = ("positive", "symmetric", "random_sign")


@dataclass(frozen=True, kw_only=True)
class NudgeConfig:
    """The nudging strength and scheme.

    ``positive``: one nudged phase at ``+beta`` against the free phase; the gradient estimate has an
    O(beta) bias (Scellier & Bengio, Front. Comput. Neurosci. 2017, Eq. 10).
    ``symmetric``: two nudged phases at ``+beta`` and ``-beta``, difference divided by ``2 beta``;
    the bias drops to O(beta^2) (Laborieux et al., Front. Neurosci. 2021, Eq. 7).
    ``random_sign``: one nudged phase at ``+-beta`` with a fair random sign per update, so the
    O(beta) bias cancels on average (Scellier & Bengio 2017, Sec. 4.2; Laborieux et al. 2021).
    """

    beta: float = 0.5
    """Nudging strength (dimensionless, 0 < beta < 1: the nudged output block must stay convex
    for ``-beta``)."""
    mode: NudgeMode = "symmetric"
    """One of ``positive``, ``symmetric``, ``random_sign``."""

    def __post_init__(self) -> None:
        check_range("nudge.beta", self.beta, 1e-9, 0.999)
        if self.mode not in _MODES:
            raise ValueError(f"nudge.mode={self.mode!r} is not one of {list(_MODES)}")


def signed_betas(config: NudgeConfig, generator: torch.Generator) -> tuple[float, ...]:
    """The betas of the nudged phases of one update: ``(b,)`` or ``(b, -b)``.

    ``random_sign`` draws its sign from ``generator`` (one draw per update)."""
    if config.mode == "positive":
        return (config.beta,)
    if config.mode == "symmetric":
        return (config.beta, -config.beta)
    sign = 1.0 if bool(torch.rand((), generator=generator, device=generator.device) < 0.5) else -1.0
    return (sign * config.beta,)
