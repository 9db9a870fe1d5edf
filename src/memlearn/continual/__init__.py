"""Continual learning on the chip: task streams, chip physics between tasks, strategies that
gate, sparsify or rehearse the pulses, and forgetting metrics (Lopez-Paz & Ranzato 2017)."""

from memlearn.continual.chip_physics import ChipPhysics as ChipPhysics
from memlearn.continual.chip_physics import inject_faults as inject_faults
from memlearn.continual.chip_physics import total_pulses as total_pulses
from memlearn.continual.chip_physics import worn_fraction as worn_fraction
from memlearn.continual.consolidation import Consolidation as Consolidation
from memlearn.continual.consolidation import fisher_diagonal as fisher_diagonal
from memlearn.continual.learner import STRATEGIES as STRATEGIES
from memlearn.continual.learner import StrategyConfig as StrategyConfig
from memlearn.continual.learner import StreamResult as StreamResult
from memlearn.continual.learner import StreamTraining as StreamTraining
from memlearn.continual.learner import evaluate_task as evaluate_task
from memlearn.continual.learner import run_stream as run_stream
from memlearn.continual.metrics import average_accuracy as average_accuracy
from memlearn.continual.metrics import backward_transfer as backward_transfer
from memlearn.continual.metrics import forgetting as forgetting
from memlearn.continual.metrics import forward_transfer as forward_transfer
from memlearn.continual.replay import ReplayBuffer as ReplayBuffer
from memlearn.continual.sparse_rewrite import SparseRewrite as SparseRewrite
from memlearn.continual.streams import Task as Task
from memlearn.continual.streams import TaskStream as TaskStream
from memlearn.continual.streams import drifting_tasks as drifting_tasks
from memlearn.continual.streams import permuted_tasks as permuted_tasks
from memlearn.continual.streams import split_tasks as split_tasks
