"""The backprop baselines of the EP table are well-trained, not crippled (issue 5 review)."""

from __future__ import annotations

import torch

from memlearn.datasets import load_digits
from memlearn.eqprop import EnergyNetwork, backprop_twin, evaluate_feedforward, train_backprop_epoch
from memlearn.eqprop.energy import hard_sigmoid


def _train_twin(clip_output: bool) -> float:
    # the table's digits setting: 64-64-10, seed 0, Glorot init, zero biases, SGD lr 0.1, batch 10, 3 epochs
    data = load_digits()
    twin = backprop_twin(EnergyNetwork([64, 64, 10], seed=0, analog=False), clip_output=clip_output)
    opt = torch.optim.SGD(twin.parameters(), lr=0.1)
    g = torch.Generator().manual_seed(0)
    for _ in range(3):
        train_backprop_epoch(twin, opt, data.x_train, data.y_train, 10, g)
    return evaluate_feedforward(twin, data.x_test, data.y_test)


def test_backprop_twin_reaches_85_percent_on_digits_in_the_table_setting():
    acc = _train_twin(clip_output=False)
    assert acc >= 0.85, f"backprop twin test accuracy {acc:.3f} after 3 epochs"


def test_backprop_twin_keeps_the_architecture_and_initial_point():
    net = EnergyNetwork([64, 32, 10], seed=3, analog=False)
    twin = backprop_twin(net)
    x = torch.rand(5, 64, generator=torch.Generator().manual_seed(0))
    w, b = net.weight_matrices(), net.bias_vectors()
    expected = hard_sigmoid(x @ w[0].T + b[0]) @ w[1].T + b[1]  # hard-sigmoid hidden layer, linear readout
    torch.testing.assert_close(twin(x), expected)
    torch.testing.assert_close(backprop_twin(net, clip_output=True)(x), hard_sigmoid(expected))


def test_clipped_output_cost_is_what_crippled_the_old_baseline():
    # EP's exact cost on rho(s_L) kills output units under backprop; documents the 39% row
    assert _train_twin(clip_output=True) < 0.7


def test_bptt_on_the_energy_network_reaches_85_percent_on_digits_in_the_table_setting():
    from memlearn.eqprop import RelaxConfig, evaluate_ep, train_bptt_epoch

    data = load_digits()
    net = EnergyNetwork([64, 64, 10], seed=0, analog=False)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    g = torch.Generator().manual_seed(0)
    for _ in range(3):
        train_bptt_epoch(net, opt, data.x_train, data.y_train, 10, g, 30)
    acc = evaluate_ep(net, data.x_test, data.y_test, RelaxConfig(max_steps=30, tol=1e-3))
    assert acc >= 0.85, f"BPTT test accuracy {acc:.3f} after 3 epochs"
