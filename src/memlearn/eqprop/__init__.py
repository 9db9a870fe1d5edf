"""Equilibrium propagation on analog hardware: layered Hopfield energy networks whose weights are
tiles (relaxation through the circuit's MVMs, local contrastive updates as UpdateRequests), and
nonlinear resistive networks (conductances + diodes) with exact and fast steady-state solvers."""

from memlearn.eqprop.baseline import backprop_twin, evaluate_feedforward, train_backprop_epoch, train_bptt_epoch
from memlearn.eqprop.energy import cost, energy, hard_sigmoid, total_energy
from memlearn.eqprop.learner import EPConfig, EquilibriumPropagation, evaluate_ep, one_hot, predict, run_phases, train_epoch_ep
from memlearn.eqprop.network import DigitalMatrix, EnergyNetwork
from memlearn.eqprop.nudging import NudgeConfig, signed_betas
from memlearn.eqprop.relaxation import RelaxConfig, RelaxResult, relax, relax_tensors
from memlearn.eqprop.update import Phases, ep_gradients, ep_requests, write_ep_gradients

__all__ = [
    "DigitalMatrix",
    "EPConfig",
    "EnergyNetwork",
    "EquilibriumPropagation",
    "NudgeConfig",
    "Phases",
    "RelaxConfig",
    "RelaxResult",
    "backprop_twin",
    "cost",
    "energy",
    "ep_gradients",
    "ep_requests",
    "evaluate_ep",
    "evaluate_feedforward",
    "hard_sigmoid",
    "one_hot",
    "predict",
    "relax",
    "relax_tensors",
    "run_phases",
    "signed_betas",
    "total_energy",
    "train_backprop_epoch",
    "train_bptt_epoch",
    "train_epoch_ep",
    "write_ep_gradients",
]
