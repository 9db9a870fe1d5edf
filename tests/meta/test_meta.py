"""Few-shot on-chip adaptation of a meta-trained init, episodes, and the learned programmer."""

import pytest
import torch

from memlearn.crossbar.crossbar import Crossbar
from memlearn.crossbar.programming import WriteVerify
from memlearn.datasets import load_digits
from memlearn.devices.presets import get_preset
from memlearn.experiments.training import build_mlp
from memlearn.meta import (Adaptation, EpisodeSampler, MetaTraining, ProgrammerTraining, deploy, evaluate_float,
                           evaluate_on_chip, meta_train, train_programmer)
from memlearn.nn.tile_config import TileConfig
from memlearn.rules.deterministic import DeterministicPulse


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def test_episode_sampler_shapes_labels_and_disjoint_sets(digits):
    s = EpisodeSampler(digits.x_train, digits.y_train, range(10), n_way=5, k_shot=3, n_query=4)
    ep = s.sample(torch.Generator().manual_seed(0))
    assert ep.x_support.shape == (15, 64) and ep.x_query.shape == (20, 64)
    assert torch.equal(ep.y_support.bincount(), torch.full((5,), 3))
    rows = lambda x: {tuple(r.tolist()) for r in x}
    assert not rows(ep.x_support) & rows(ep.x_query)
    with pytest.raises(ValueError, match="n_way"):
        EpisodeSampler(digits.x_train, digits.y_train, [0, 1], n_way=5, k_shot=1, n_query=1)
    with pytest.raises(ValueError, match="algorithm"):
        MetaTraining(algorithm="maml2")


def test_meta_trained_init_beats_random_init_on_chip_5way_5shot(digits):
    """Meta-train (FOMAML, noise in the loop) on training images, adapt on the chip (ReRAM_SB,
    deterministic pulses, 5 steps, output layer) on episodes from the held-out test images."""
    train = EpisodeSampler(digits.x_train, digits.y_train, range(10), 5, 5, 10)
    test = EpisodeSampler(digits.x_test, digits.y_test, range(10), 5, 5, 10)
    meta = build_mlp((64, 32, 5), "tanh", None, seed=0, analog=False)
    meta_train(meta, train, MetaTraining(meta_steps=60, meta_batch=4), torch.Generator().manual_seed(0))
    config = TileConfig(device=get_preset("ReRAM_SB"))
    adapt = Adaptation(steps=5, lr=0.5)
    chip_meta = build_mlp((64, 32, 5), "tanh", config, seed=0)
    assert deploy(meta, chip_meta, program=True) > 0
    chip_rand = build_mlp((64, 32, 5), "tanh", config, seed=0)
    res_meta = evaluate_on_chip(chip_meta, test, DeterministicPulse(), adapt, 10, torch.Generator().manual_seed(1))
    res_rand = evaluate_on_chip(chip_rand, test, DeterministicPulse(), adapt, 10, torch.Generator().manual_seed(1))
    assert res_meta.accuracy > res_rand.accuracy + 0.15, (res_meta, res_rand)
    assert res_meta.pulses > 0
    res_float = evaluate_float(meta, test, adapt, 10, torch.Generator().manual_seed(1))
    assert abs(res_float.accuracy - res_meta.accuracy) < 0.1


def test_learned_programmer_reaches_write_verify_tolerance_with_fewer_pulses_on_soft_bounds():
    """Same tolerance, shot limit and per-shot pulse cap on a 32x32 ReRAM_SB array, random targets.
    The margin is small (about 1%): from g_min, write-verify is already within ~2% of the physical
    minimum of ``E[-ln(1 - u)] / alpha`` pulses per device (docs/meta.md)."""
    device = get_preset("ReRAM_SB")
    prog = train_programmer(device, ProgrammerTraining(n_samples=4096, steps=300, max_pulses=64),
                            torch.Generator().manual_seed(0))
    results = {}
    for name, p in (("wv", WriteVerify(tolerance=0.01, max_pulses=64, max_iterations=50)), ("learned", prog)):
        cb = Crossbar(32, 32, device, torch.Generator().manual_seed(10))
        st = cb.state
        target = st.g_min + torch.rand(32, 32, generator=torch.Generator().manual_seed(20)) * (st.g_max - st.g_min)
        results[name] = p.program(cb, target, torch.Generator().manual_seed(30))
    assert results["learned"].pulses < results["wv"].pulses, results
    assert results["learned"].converged >= results["wv"].converged - 2 / 1024, results
    assert results["learned"].converged > 0.99
    with pytest.raises(ValueError, match="aim"):
        ProgrammerTraining(aim=0.0)
