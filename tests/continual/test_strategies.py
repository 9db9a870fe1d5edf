"""Strategies on split digits with a soft-bounds preset; streams, gating, replay and chip physics."""

import pytest
import torch

from memlearn.continual import (ChipPhysics, Consolidation, ReplayBuffer, SparseRewrite, StrategyConfig, StreamTraining,
                                inject_faults, permuted_tasks, run_stream, split_tasks, drifting_tasks)
from memlearn.continual.pulse_gate import gate_pulses
from memlearn.datasets import load_digits
from memlearn.devices.presets import get_preset
from memlearn.devices.state import FREE
from memlearn.experiments.training import build_mlp
from memlearn.nn.tile_config import TileConfig
from memlearn.rules.deterministic import DeterministicPulse
from memlearn.rules import apply_update, chain


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.fixture(scope="module")
def split_runs(digits):
    """naive and SI/EWC on split digits (class-incremental with the labels trick), ReRAM_SB, fixed seeds."""
    stream = split_tasks(digits, 2, "class_incremental", labels_trick=True)
    config = TileConfig(device=get_preset("ReRAM_SB"))
    out = {}
    for name in ("naive", "si", "ewc"):
        model = build_mlp((64, 32, 10), "tanh", config, seed=0)
        out[name] = run_stream(model, stream, DeterministicPulse(), StrategyConfig(name=name, strength=20.0),
                               StreamTraining(epochs=2, batch_size=16, lr=0.1), ChipPhysics(),
                               torch.Generator().manual_seed(0)).summary()
    return out


def test_split_tasks_partition_classes(digits):
    stream = split_tasks(digits, 2, "task_incremental")
    assert len(stream) == 5
    assert sum(len(t.y_train) for t in stream.tasks) == len(digits.y_train)
    for k, task in enumerate(stream.tasks):
        assert set(task.y_train.tolist()) == {2 * k, 2 * k + 1}
        assert task.output_mask(10).sum() == 2
    assert split_tasks(digits, 2, "class_incremental").tasks[0].output_mask(10) is None
    with pytest.raises(ValueError, match="classes_per_task"):
        split_tasks(digits, 3)


def test_permuted_and_drifting_streams(digits):
    g = torch.Generator().manual_seed(0)
    perm = permuted_tasks(digits, 3, g)
    assert torch.equal(perm.tasks[0].x_train, digits.x_train)
    assert torch.allclose(perm.tasks[2].x_train.sort(dim=1).values, digits.x_train.sort(dim=1).values)
    drift = drifting_tasks(digits, 3, 0.5, g)
    shift = [(t.x_train - digits.x_train).abs().mean().item() for t in drift.tasks]
    assert shift[0] == 0 and 0 < shift[1] < shift[2]


def test_consolidation_forgets_less_than_naive_with_fewer_pulses(split_runs):
    naive = split_runs["naive"]
    for name in ("si", "ewc"):
        assert split_runs[name]["forgetting"] < naive["forgetting"] - 0.03, (name, split_runs[name], naive)
        assert split_runs[name]["pulses"] < naive["pulses"]
    assert naive["write_energy"] > 0


def test_gate_pulses_is_unbiased_and_keeps_sign():
    g = torch.Generator().manual_seed(0)
    n = torch.full((200, 200), -3, dtype=torch.int32)
    out = gate_pulses(n, torch.full((200, 200), 0.25), g)
    assert (out <= 0).all() and out.dtype == n.dtype
    # E = -0.75, per-entry std <= 0.5: 4 sigma of the mean of 40,000 draws is 0.01
    assert out.float().mean().item() == pytest.approx(-0.75, abs=0.01)
    assert (gate_pulses(n, torch.zeros(200, 200), g) == 0).all()


def test_sparse_rewrite_writes_only_top_fraction(digits):
    model = build_mlp((64, 10), "tanh", TileConfig(), seed=0)
    tile = model[0].tile
    rule = chain(DeterministicPulse(), SparseRewrite(fraction=0.05))
    from memlearn.rules.update_request import UpdateRequest
    x, d = digits.x_train[:16], torch.randn(16, 10, generator=torch.Generator().manual_seed(1))
    before = tile.array.n_writes.clone()
    apply_update(rule, UpdateRequest(x, d, 1.0), tile, rule.init(tile), tile.generator)
    written = ((tile.array.n_writes - before)[:, :10] > 0).sum().item()
    assert 0 < written <= 0.05 * 640 + 1
    with pytest.raises(ValueError, match="fraction"):
        SparseRewrite(fraction=0.0)
    with pytest.raises(ValueError, match="importance"):
        Consolidation(importance="l2")


def test_replay_buffer_shares_capacity_and_counts_bits(digits):
    g = torch.Generator().manual_seed(0)
    buf = ReplayBuffer(capacity=30)
    mask = torch.ones(10, dtype=torch.bool)
    buf.add_task(digits.x_train[:100], digits.y_train[:100], mask, g)
    buf.add_task(digits.x_train[100:200], digits.y_train[100:200], mask, g)
    assert len(buf) == 30
    assert buf.memory_bits == 30 * (64 * 8 + 8 + 10)
    x, y, m = buf.sample(7, g)
    assert x.shape == (7, 64) and y.shape == (7,) and m.shape == (7, 10)


def test_faults_and_drift_between_tasks(digits):
    model = build_mlp((64, 10), "tanh", TileConfig(device=get_preset("PCM")), seed=0)
    g = torch.Generator().manual_seed(0)
    n = inject_faults(model, 0.1, g)
    fault = model[0].tile.array.state.fault
    assert n == int((fault != FREE).sum()) and 0.07 < n / fault.numel() < 0.13
    stream = split_tasks(digits, 5, "task_incremental")
    res = run_stream(build_mlp((64, 10), "tanh", TileConfig(device=get_preset("PCM")), seed=0), stream,
                     DeterministicPulse(), StrategyConfig(name="replay", replay_capacity=20),
                     StreamTraining(epochs=1, batch_size=32, lr=0.1), ChipPhysics(idle_time=3600.0, fault_rate=0.05), g)
    assert res.new_faults > 0 and res.replay_bits > 0 and res.accuracy.shape == (2, 2)
    with pytest.raises(ValueError, match="fault_rate"):
        ChipPhysics(fault_rate=1.5)
