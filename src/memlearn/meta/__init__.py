"""Learning to learn on the chip: N-way K-shot episodes, off-chip first-order MAML / Reptile with
hardware noise in the loop, on-chip few-shot adaptation, and a learned conductance programmer."""

from memlearn.meta.adaptation import Adaptation as Adaptation
from memlearn.meta.adaptation import FewShotResult as FewShotResult
from memlearn.meta.adaptation import adapt_float as adapt_float
from memlearn.meta.adaptation import adapt_on_chip as adapt_on_chip
from memlearn.meta.adaptation import deploy as deploy
from memlearn.meta.adaptation import evaluate_float as evaluate_float
from memlearn.meta.adaptation import evaluate_on_chip as evaluate_on_chip
from memlearn.meta.episodes import Episode as Episode
from memlearn.meta.episodes import EpisodeSampler as EpisodeSampler
from memlearn.meta.learned_programmer import LearnedProgrammer as LearnedProgrammer
from memlearn.meta.learned_programmer import ProgrammerTraining as ProgrammerTraining
from memlearn.meta.learned_programmer import train_programmer as train_programmer
from memlearn.meta.meta_train import MetaTraining as MetaTraining
from memlearn.meta.meta_train import meta_train as meta_train
