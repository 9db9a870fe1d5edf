"""The float twin of continual learning: domain-incremental split streams, the EWC Fisher, and
that consolidation and replay forget less than plain fine-tuning."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from memlearn.continual.float_twin import FloatStrategy, FloatTraining, fisher_diagonal, mlp, run_float_stream
from memlearn.continual.metrics import forgetting
from memlearn.continual.streams import split_tasks
from memlearn.datasets import load_digits


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def test_domain_incremental_split_relabels_within_each_task(digits):
    stream = split_tasks(digits, 2, "domain_incremental")
    assert stream.n_classes == 2 and len(stream) == 5
    for t, task in enumerate(stream.tasks):
        assert set(task.y_train.unique().tolist()) == {0, 1}
        assert task.output_mask(2) is None
        original = digits.y_train[torch.isin(digits.y_train, torch.tensor([2 * t, 2 * t + 1]))]
        assert torch.equal(task.y_train, original - 2 * t)
    with pytest.raises(ValueError, match="labels_trick"):
        split_tasks(digits, 2, "domain_incremental", labels_trick=True)


def test_fisher_equals_per_sample_gradients(digits):
    stream = split_tasks(digits, 2, "task_incremental")
    task = stream.tasks[1]
    model = mlp([64, 8, 10], seed=3)
    fisher = fisher_diagonal(model, task, 10, n_samples=None, generator=torch.Generator().manual_seed(0), chunk=37)
    mask = task.output_mask(10, training=True)
    brute = {k: torch.zeros_like(p) for k, p in model.named_parameters()}
    for i in range(len(task.y_train)):
        logits = model(task.x_train[i:i + 1]).masked_fill(~mask, float("-inf"))
        nn.functional.cross_entropy(logits, logits.detach().argmax(1)).backward()
        for k, p in model.named_parameters():
            brute[k] += p.grad.square()
        model.zero_grad()
    for k in brute:
        torch.testing.assert_close(fisher[k], brute[k] / len(task.y_train), rtol=1e-4, atol=1e-9)


@pytest.mark.parametrize("scenario, name, strength", [("domain_incremental", "ewc", 1e4),
                                                     ("domain_incremental", "si", 10.0),
                                                     ("class_incremental", "replay", 1.0)])
def test_strategies_forget_less_than_fine_tuning(digits, scenario, name, strength):
    stream = split_tasks(digits, 2, scenario)
    training = FloatTraining(iterations=60, batch_size=32, lr=1e-2)
    run = lambda s: run_float_stream(mlp([64, 32, stream.n_classes], seed=0), stream, s, training,
                                     torch.Generator().manual_seed(0))
    none = run(FloatStrategy(name="none"))
    other = run(FloatStrategy(name=name, strength=strength, budget_per_class=20))
    assert float(none.diagonal().mean()) > 0.6  # tasks are learned when they are trained
    assert forgetting(other) < forgetting(none) - 0.05
