"""Fitting the exponential LTP/LTD model recovers the parameters of a known device."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from memlearn.devices import Device, ExpLtpLtd
from memlearn.devices.fit import fit_exp_ltp_ltd, simulate_pulse_trains

TRUE = ExpLtpLtd(g_min=3.0769e-9, g_max=3.8462e-8, n_ltp=97, n_ltd=100, nonlinearity_ltp=2.4,
                 nonlinearity_ltd=-4.88, sigma_c2c=0.01, d2d_nonlinearity=0.3, d2d_bounds=0.05)


@pytest.fixture(scope="module")
def trains() -> pd.DataFrame:
    """Ag:a-Si-like device (NeuroSim's bounds, levels and NL labels) with c2c and d2d spreads:
    20 devices x 3 cycles of 97 LTP + 100 LTD pulses."""
    return simulate_pulse_trains(Device(response=TRUE), 20, 3, torch.Generator().manual_seed(0))


def test_fit_recovers_parameters_within_stated_tolerances(trains):
    result = fit_exp_ltp_ltd(trains)
    fit = result.device.response
    assert (fit.n_ltp, fit.n_ltd) == (97, 100)
    # Tolerances (20 devices, 3 cycles): bounds 3%, NL labels +-0.25 (LTP) / +-0.4 (LTD),
    # c2c 15% relative, d2d of NL within a factor 2, d2d of bounds +-0.03 absolute.
    assert fit.g_min == pytest.approx(TRUE.g_min, rel=0.03)
    assert fit.g_max == pytest.approx(TRUE.g_max, rel=0.03)
    assert fit.nonlinearity_ltp == pytest.approx(TRUE.nonlinearity_ltp, abs=0.25)
    assert fit.nonlinearity_ltd == pytest.approx(TRUE.nonlinearity_ltd, abs=0.4)
    assert fit.sigma_c2c == pytest.approx(TRUE.sigma_c2c, rel=0.15)
    assert 0.15 <= fit.d2d_nonlinearity <= 0.6
    assert fit.d2d_bounds == pytest.approx(TRUE.d2d_bounds, abs=0.03)
    assert result.rmse < 0.03 and result.n_devices == 20 and result.n_cycles == 3


def test_fit_detects_a_linear_device():
    lin = ExpLtpLtd(g_min=1e-6, g_max=1e-5, n_ltp=60, n_ltd=60, nonlinearity_ltp=0.0, nonlinearity_ltd=0.0,
                    sigma_c2c=0.005)
    data = simulate_pulse_trains(Device(response=lin), 6, 2, torch.Generator().manual_seed(1))
    fit = fit_exp_ltp_ltd(data).device.response
    assert abs(fit.nonlinearity_ltp) < 0.3 and abs(fit.nonlinearity_ltd) < 0.3


@pytest.mark.parametrize("column, value, message", [
    ("direction", "sideways", "direction='sideways'"),
    ("conductance", float("nan"), "conductance must be finite"),
])
def test_bad_data_is_rejected(trains, column, value, message):
    bad = trains.head(400).copy()
    bad.loc[bad.index[3], column] = value
    with pytest.raises(ValueError, match=message):
        fit_exp_ltp_ltd(bad)


def test_missing_column_is_named(trains):
    with pytest.raises(ValueError, match="cycle"):
        fit_exp_ltp_ltd(trains.drop(columns=["cycle"]))
