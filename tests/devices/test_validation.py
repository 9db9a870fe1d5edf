"""Physically impossible parameters raise ValueError naming the parameter and its range."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memlearn.devices import Drift, ExpLtpLtd, Faults, Ideal, LinearStep, PCMResponse, ReadNoise, SoftBounds

RESPONSES = [Ideal, LinearStep, SoftBounds, ExpLtpLtd, PCMResponse]
NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf])


@settings(max_examples=60, deadline=None)
@given(cls=st.sampled_from(RESPONSES), g_min=st.floats(1e-12, 1e-3), factor=st.floats(0.0, 1.0))
def test_gmin_not_below_gmax_is_rejected(cls, g_min, factor):
    with pytest.raises(ValueError, match="g_min"):
        cls(g_min=g_min, g_max=g_min * factor)


@settings(max_examples=60, deadline=None)
@given(cls=st.sampled_from(RESPONSES), g_min=st.floats(-1.0, 0.0))
def test_non_positive_gmin_is_rejected(cls, g_min):
    with pytest.raises(ValueError, match="g_min"):
        cls(g_min=g_min)


COUNT_FIELDS = [(Ideal, "states"), (LinearStep, "states"), (SoftBounds, "n_pulses"), (ExpLtpLtd, "n_ltp"),
                (ExpLtpLtd, "n_ltd"), (PCMResponse, "n_set")]


@settings(max_examples=60, deadline=None)
@given(case=st.sampled_from(COUNT_FIELDS), value=st.integers(-10**6, 0))
def test_zero_or_negative_states_are_rejected(case, value):
    cls, field = case
    with pytest.raises(ValueError, match=rf"{field}=.*\[\d"):
        cls(**{field: value})


PROBABILITIES = [(Faults, "stuck_at_gmin"), (Faults, "stuck_at_gmax")]


@settings(max_examples=60, deadline=None)
@given(case=st.sampled_from(PROBABILITIES),
       value=st.one_of(st.floats(-1e6, -1e-9), st.floats(1.0 + 1e-9, 1e6)))
def test_probabilities_outside_unit_interval_are_rejected(case, value):
    cls, field = case
    with pytest.raises(ValueError, match=rf"{field}=.*\[0\.0, 1\.0\]"):
        cls(**{field: value})


FLOAT_FIELDS = [(cls, f) for cls in RESPONSES for f in ("g_min", "g_max")] + [
    (LinearStep, "asymmetry"), (LinearStep, "sigma_c2c"), (SoftBounds, "asymmetry"), (SoftBounds, "sigma_c2c"),
    (SoftBounds, "d2d_step"), (ExpLtpLtd, "nonlinearity_ltp"), (ExpLtpLtd, "nonlinearity_ltd"),
    (ExpLtpLtd, "sigma_c2c"), (ExpLtpLtd, "d2d_nonlinearity"), (PCMResponse, "sigma_reset"),
    (PCMResponse, "reset_level"), (ReadNoise, "relative"), (Drift, "nu_mean"), (Drift, "t0"),
    (Faults, "stuck_at_gmin"), (Faults, "endurance"), (Ideal, "states"), (ExpLtpLtd, "n_ltp")]


@settings(max_examples=80, deadline=None)
@given(case=st.sampled_from(FLOAT_FIELDS), value=NON_FINITE)
def test_nan_and_inf_are_rejected_everywhere(case, value):
    cls, field = case
    if (cls, field, value) == (Faults, "endurance", math.inf):
        return  # unlimited endurance is the documented default
    with pytest.raises(ValueError, match=field):
        cls(**{field: value})


@settings(max_examples=60, deadline=None)
@given(value=st.one_of(st.floats(-100, -9.0001), st.floats(9.0001, 100)))
def test_nonlinearity_outside_neurosim_range_is_rejected(value):
    with pytest.raises(ValueError, match=r"nonlinearity_ltp=.*\[-9.0, 9.0\]"):
        ExpLtpLtd(nonlinearity_ltp=value)


def test_stuck_fractions_must_sum_to_at_most_one():
    with pytest.raises(ValueError, match="stuck_at_gmin \\+ faults.stuck_at_gmax"):
        Faults(stuck_at_gmin=0.6, stuck_at_gmax=0.5)
