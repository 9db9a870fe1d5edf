"""Continual-learning metrics equal their formulas on a hand-made accuracy matrix."""

import pytest
import torch

from memlearn.continual import average_accuracy, backward_transfer, forgetting, forward_transfer

R = torch.tensor([[0.90, 0.20, 0.10],
                  [0.70, 0.80, 0.30],
                  [0.50, 0.60, 0.95]])
B = torch.tensor([0.10, 0.15, 0.05])


def test_average_accuracy_is_mean_of_last_row():
    assert average_accuracy(R) == pytest.approx((0.50 + 0.60 + 0.95) / 3)


def test_backward_transfer_matches_lopez_paz_eq3():
    assert backward_transfer(R) == pytest.approx(((0.50 - 0.90) + (0.60 - 0.80)) / 2)


def test_forward_transfer_matches_lopez_paz_eq4():
    assert forward_transfer(R, B) == pytest.approx(((0.20 - 0.15) + (0.30 - 0.05)) / 2)


def test_forgetting_uses_best_accuracy_after_training():
    # task 0: best 0.90 -> 0.50; task 1: best 0.80 (row 0 is before training task 1) -> 0.60
    assert forgetting(R) == pytest.approx(((0.90 - 0.50) + (0.80 - 0.60)) / 2)


def test_single_task_and_bad_shapes():
    one = torch.tensor([[0.7]])
    assert backward_transfer(one) == 0.0 and forward_transfer(one, torch.tensor([0.1])) == 0.0
    assert average_accuracy(one) == pytest.approx(0.7)
    with pytest.raises(ValueError, match="square"):
        average_accuracy(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="baseline"):
        forward_transfer(R, torch.zeros(2))
