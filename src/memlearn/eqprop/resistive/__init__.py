"""Nonlinear resistive networks trained by equilibrium propagation (Kendall et al. 2020; Scellier,
ICML 2024): memristor conductances as weights, diode pairs as activations, voltage-source inputs,
current-nudged outputs; exact (Newton) and fast (block coordinate descent) steady-state solvers."""

from memlearn.eqprop.resistive.diode import DiodePair
from memlearn.eqprop.resistive.learning import ResistiveEP, ResistiveEPConfig, evaluate_resistive, resistive_gradients, steady_state
from memlearn.eqprop.resistive.network import ResistiveConfig, ResistiveNetwork
from memlearn.eqprop.resistive.solvers import CircuitSolution, SolverConfig, co_content, kcl_residual, solve_exact, solve_fast

__all__ = [
    "CircuitSolution",
    "DiodePair",
    "ResistiveConfig",
    "ResistiveEP",
    "ResistiveEPConfig",
    "ResistiveNetwork",
    "SolverConfig",
    "co_content",
    "evaluate_resistive",
    "kcl_residual",
    "resistive_gradients",
    "solve_exact",
    "solve_fast",
    "steady_state",
]
