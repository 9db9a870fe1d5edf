"""Consolidation mapped to hardware: per-weight importance scales the pulses sent to each device."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from memlearn.continual.pulse_gate import gated
from memlearn.validation import check_range
from memlearn.nn.pulses import Pulses
from memlearn.nn.tile import AnalogTile
from memlearn.rules.rule import PulseTransform
from memlearn.rules.update_request import UpdateRequest

IMPORTANCES = ("si", "ewc")


@dataclass(frozen=True, kw_only=True)
class Consolidation(PulseTransform):
    """A pulse transform for ``chain(rule, Consolidation(...))``: the pulses any rule sends to weight ``ij`` are scaled by
    ``gate_ij = 1 / (1 + strength * Omega_ij / mean(Omega))`` (stochastic rounding keeps the expected
    count), so devices that matter for earlier tasks are written less, which also saves write energy
    and endurance.

    ``Omega`` accumulates over tasks and is either
    - ``"ewc"``: the diagonal empirical Fisher information ``E[(dL/dW_ij)^2]`` at the end of each task
      (Kirkpatrick et al., "Overcoming catastrophic forgetting in neural networks", PNAS 2017, Eq. 3),
      computed per sample in closed form from the layer's ``(x, d)``: ``F = mean_s (d_s^2)^T (x_s^2)``;
    - ``"si"``: Synaptic Intelligence's path integral ``omega_ij = sum_t -g_ij(t) dW_ij(t)`` normalised
      by the squared total change, ``Omega += relu(omega) / (Delta_ij^2 + damping)`` (Zenke, Poole &
      Ganguli, "Continual learning through synaptic intelligence", ICML 2017, Eqs. 4-5). ``dW`` is
      the change the devices actually made (read back after each update), so device
      nonlinearity and noise enter the importance.

    EWC's quadratic pull towards the old weights is replaced by this gate: on a pulsed chip the
    natural knob is how many pulses a device receives. ``end_task`` must be called between tasks.
    """

    importance: str = "si"
    """Importance estimate: ``"si"`` (path integral) or ``"ewc"`` (Fisher diagonal)."""
    strength: float = 1.0
    """Gate strength lambda (dimensionless, >= 0; 0 = no consolidation)."""
    damping: float = 0.01
    """SI's xi in ``Omega = omega / (Delta^2 + xi)`` (weight units squared, > 0)."""

    def __post_init__(self) -> None:
        if self.importance not in IMPORTANCES:
            raise ValueError(f"importance={self.importance!r} is not one of {IMPORTANCES}")
        check_range("strength", self.strength, 0.0, 1e6)
        check_range("damping", self.damping, 1e-12, 1e6)

    def init(self, tile: AnalogTile) -> dict[str, Any]:
        w = tile.weights()
        zeros = torch.zeros_like(w)
        return {"omega": zeros, "path": zeros.clone(), "w_start": w.clone(), "gate": torch.ones_like(w),
                "pending": None}

    def update(self, pulses: Pulses, request: UpdateRequest, tile: AnalogTile, state: dict[str, Any],
               generator: torch.Generator) -> tuple[Pulses, dict[str, Any]]:
        # SI: the weights before the write and the gradient, for the path integral once written
        pending = (tile.weights(), request.d.T @ request.x) if self.importance == "si" else None
        return gated(pulses, state["gate"], tile.generator), dict(state, pending=pending)

    def written(self, state: dict[str, Any], tile: AnalogTile) -> dict[str, Any]:
        if state["pending"] is None:
            return state
        w_before, grad = state["pending"]
        return dict(state, path=state["path"] - grad * (tile.weights() - w_before), pending=None)

    def end_task(self, state: dict[str, Any], tile: AnalogTile, fisher: Tensor | None = None) -> dict[str, Any]:
        """Fold the finished task into ``Omega`` and recompute the gate.

        Args:
            fisher: (out, in) Fisher diagonal of the task (required for ``"ewc"``; see :func:`fisher_diagonal`).
        """
        w = tile.weights()
        if self.importance == "ewc":
            if fisher is None:
                raise ValueError("importance='ewc' needs the task's Fisher diagonal in end_task(fisher=...)")
            omega = state["omega"] + fisher
        else:
            delta = w - state["w_start"]
            omega = state["omega"] + state["path"].clamp_min(0) / (delta * delta + self.damping)
        mean = omega.mean()
        norm = omega / mean if float(mean) > 0 else torch.zeros_like(omega)
        return dict(state, omega=omega, path=torch.zeros_like(omega), w_start=w.clone(),
                    gate=1.0 / (1.0 + self.strength * norm))


def fisher_diagonal(x: Tensor, d: Tensor) -> Tensor:
    """Empirical Fisher diagonal ``mean_s (d_s^2)^T (x_s^2)`` (out, in) of a linear layer from
    per-sample inputs ``x`` (n, in) and per-sample output gradients ``d`` (n, out) of the
    per-sample loss (Kirkpatrick et al., PNAS 2017): the per-sample weight gradient is the outer
    product ``d_s x_s^T``, so its square is ``d_s^2 (x_s^2)^T``."""
    return (d * d).T @ (x * x) / max(int(x.shape[0]), 1)
