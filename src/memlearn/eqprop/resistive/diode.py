"""Diode pair: the nonlinear element of a resistive network's hidden nodes."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from memlearn.validation import check_order, check_range


@dataclass(frozen=True, kw_only=True)
class DiodePair:
    """Two Shockley diodes that softly clamp a node between ``v_low`` and ``v_high``.

    A forward diode from the node to a source at ``v_high`` and a reverse one from a source at
    ``v_low`` give the node the current (leaving it)
    ``i(v) = I_s [exp((v - v_high)/V_e) - exp((v_low - v)/V_e)]``
    (Shockley's law ``I_s (exp(V/V_e) - 1)`` for each diode; the ``-1`` terms cancel). This is
    the sigmoid-like activation of Kendall et al., arXiv:2006.01981 (2020), Fig. 2. The current is
    monotone, so its co-content ``I_s V_e [exp((v - v_high)/V_e) + exp((v_low - v)/V_e)]`` is
    convex (Millar, Phil. Mag. 1951), and the circuit's steady state is a convex minimum.
    """

    saturation_current: float = 1e-6
    """Shockley saturation current ``I_s`` (A, > 0)."""
    emission_voltage: float = 0.026
    """Ideality factor times thermal voltage, ``V_e = n kT/q`` (V, > 0; 0.026 V is n = 1 at 300 K)."""
    v_low: float = -0.01
    """Voltage of the source below which the reverse diode conducts (V). Hidden nodes of a network
    without amplifiers sit at weighted averages of the +-1 V sources, mostly within tens of mV of
    0 V, so the defaults put the knees there."""
    v_high: float = 0.01
    """Voltage of the source above which the forward diode conducts (V, > v_low)."""

    def __post_init__(self) -> None:
        check_range("diode.saturation_current", self.saturation_current, 1e-18, 1.0)
        check_range("diode.emission_voltage", self.emission_voltage, 1e-4, 10.0)
        check_order("diode.v_low", self.v_low, "diode.v_high", self.v_high)

    @property
    def v_mid(self) -> float:
        """Node voltage at which the pair carries no current (V)."""
        return 0.5 * (self.v_low + self.v_high)

    def _exps(self, v: Tensor) -> tuple[Tensor, Tensor]:
        # Arguments are capped so that float64 never overflows; the cap (60 V_e above a source)
        # is far outside any voltage the solvers visit, where the current would exceed 1e20 I_s.
        up = ((v - self.v_high) / self.emission_voltage).clamp(max=60.0).exp()
        down = ((self.v_low - v) / self.emission_voltage).clamp(max=60.0).exp()
        return up, down

    def current(self, v: Tensor) -> Tensor:
        """Current leaving the node into the pair (A), elementwise."""
        up, down = self._exps(v)
        return self.saturation_current * (up - down)

    def conductance(self, v: Tensor) -> Tensor:
        """Differential conductance ``di/dv`` (S), elementwise, > 0."""
        up, down = self._exps(v)
        return (self.saturation_current / self.emission_voltage) * (up + down)

    def co_content(self, v: Tensor) -> Tensor:
        """Co-content ``int i dv`` (W), elementwise, convex."""
        up, down = self._exps(v)
        return self.saturation_current * self.emission_voltage * (up + down)
