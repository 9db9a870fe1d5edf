"""The one pulse-and-verify loop: its counts (reads, time, energy), the one-shot metric, the
stopping rule, and reset-then-set on PCM (reproducible bit for bit)."""

from __future__ import annotations

import pytest
import torch

from memlearn.crossbar.crossbar import Crossbar
from memlearn.crossbar.programming import (PulseChoice, ResetThenSet, WriteVerify, one_shot_fractions,
                                           program_verify, toward, verify_read_cost)
from memlearn.devices.presets import get_preset


def test_one_shot_fractions_hand_computed():
    # relative errors 0, 0.4, 0.6, 0.05, 0.11 (and a faulty device with error 1, not counted):
    # within +-50%: 0, 0.4, 0.05, 0.11 -> 4/5; within +-10%: 0, 0.05 -> 2/5
    target = torch.tensor([2.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    g = torch.tensor([2.0, 1.4, 1.6, 0.95, 1.11, 2.0])
    free = torch.tensor([True, True, True, True, True, False])
    assert one_shot_fractions(g, target, free) == pytest.approx((0.8, 0.4))


class _Fixed(PulseChoice):
    """A fixed count towards the target, to count the loop's rounds by hand."""

    def writes(self, crossbar, g_read, target, shot):
        return [toward(torch.full_like(g_read, 5.0) * torch.sign(target - g_read), target - g_read)]


def test_loop_counts_reads_time_and_energy():
    device = get_preset("EpiRAM")
    xbar = Crossbar(4, 4, device, torch.Generator().manual_seed(0))
    state = xbar.state
    target = state.g_min + 0.5 * (state.g_max - state.g_min)
    before = xbar.pulse_counter.report()
    res = program_verify(xbar, target, torch.Generator().manual_seed(1), _Fixed(), tolerance=1e-6,
                         max_iterations=3, max_pulses=64, noisy_verify=False)
    # never within 1e-6: three rounds, three reads (no confirming read after the last round)
    assert res.iterations == 3 and res.reads == 3
    t_read, e_read = verify_read_cost(xbar)
    c = xbar.pulse_counter.config
    assert t_read == pytest.approx(4 * (c.t_read + 4 / (c.adc_per_array * c.adc_rate)))
    assert res.read_time == pytest.approx(3 * t_read) and res.read_energy == pytest.approx(3 * e_read)
    # every device gets 5 pulses per round, in parallel: 3 rounds x 5 pulse widths
    assert res.write_time == pytest.approx(3 * 5 * c.write_pulse_width)
    assert res.pulses == 3 * 5 * 16
    after = xbar.pulse_counter.report()
    assert res.write_energy == pytest.approx(after.energy_write - before.energy_write)
    assert res.time == pytest.approx(res.write_time + res.read_time)


def test_converged_loop_ends_with_a_confirming_read():
    device = get_preset("ReRAM_SB")
    xbar = Crossbar(8, 8, device, torch.Generator().manual_seed(0))
    st = xbar.state
    target = st.g_min + torch.rand(8, 8, generator=torch.Generator().manual_seed(2)) * (st.g_max - st.g_min)
    res = WriteVerify(tolerance=0.05, max_pulses=1024, noisy_verify=False).program(xbar, target,
                                                                                   torch.Generator().manual_seed(3))
    assert res.converged == 1.0 and res.reads == res.iterations + 1


def test_done_fraction_stops_early():
    device = get_preset("ReRAM_SB")
    runs = {}
    for f in (1.0, 0.5):
        xbar = Crossbar(16, 16, device, torch.Generator().manual_seed(0))
        st = xbar.state
        target = st.g_min + torch.rand(16, 16, generator=torch.Generator().manual_seed(2)) * (st.g_max - st.g_min)
        runs[f] = WriteVerify(tolerance=0.01, max_pulses=64, done_fraction=f).program(
            xbar, target, torch.Generator().manual_seed(3))
    assert runs[0.5].reads < runs[1.0].reads
    assert runs[0.5].converged >= 0.5
    with pytest.raises(ValueError, match="done_fraction"):
        WriteVerify(done_fraction=0.0)


def _pcm(choice, seed: int = 0):
    device = get_preset("PCM")
    xbar = Crossbar(16, 16, device, torch.Generator().manual_seed(seed))
    st = xbar.state
    target = st.g_min + torch.rand(16, 16, generator=torch.Generator().manual_seed(seed + 1)) * (st.g_max - st.g_min)
    res = WriteVerify(tolerance=0.05, max_iterations=30, max_pulses=64, choice=choice).program(
        xbar, target, torch.Generator().manual_seed(seed + 2))
    return xbar, target, res


def test_reset_then_set_resets_devices_above_target_and_sets_in_the_same_round():
    device = get_preset("PCM")
    xbar = Crossbar(2, 2, device, torch.Generator().manual_seed(0))
    st = xbar.state
    rng = st.g_max - st.g_min
    # two devices far above their target, two below
    xbar.g.copy_(st.g_min + torch.tensor([[0.9, 0.9], [0.05, 0.05]]) * rng)
    target = st.g_min + torch.tensor([[0.3, 0.3], [0.5, 0.5]]) * rng
    reset, set_ = ResetThenSet(max_pulses=64).writes(xbar, xbar.g.clone(), target, 0)
    assert reset.tolist() == [[-1.0, -1.0], [0.0, 0.0]]
    assert bool((set_ > 0).all())  # above: SET from the RESET state; below: SET from where they are


def test_reset_then_set_on_pcm_is_reproducible_bit_for_bit_and_converges():
    xa, _, ra = _pcm(ResetThenSet(max_pulses=64))
    xb, _, rb = _pcm(ResetThenSet(max_pulses=64))
    assert torch.equal(xa.g, xb.g) and ra == rb
    assert ra.converged >= 0.95, ra
