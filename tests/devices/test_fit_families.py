"""`devices fit` on a lab's own CSV: column layouts and units, malformed cells, every family, held-out choice."""

from __future__ import annotations

import tomllib

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from memlearn.cli import app
from memlearn.devices import Device
from memlearn.devices.fit import check_pulse_trains, simulate_pulse_trains
from memlearn.devices.fit_families import best, fit_families
from memlearn.devices.fit_layout import DuplicateRowsWarning, Layout, to_standard
from memlearn.devices.responses.exp_ltp_ltd import ExpLtpLtd
from memlearn.devices.responses.linear_step import LinearStep
from memlearn.devices.responses.pcm import PCMResponse
from memlearn.devices.responses.soft_bounds import SoftBounds
from memlearn.experiments import registry

runner = CliRunner()

CASES = {
    "linear_step": (LinearStep(g_min=1e-6, g_max=1e-5, states=50, asymmetry=0.1, sigma_c2c=0.005), {"n_ltp": 50, "n_ltd": 50}),
    "soft_bounds": (SoftBounds(g_min=1e-6, g_max=1e-5, n_pulses=40, asymmetry=-0.1, sigma_c2c=0.005), {"n_ltp": 50, "n_ltd": 50}),
    "exp_ltp_ltd": (ExpLtpLtd(g_min=1e-6, g_max=1e-5, n_ltp=50, n_ltd=50, nonlinearity_ltp=3, nonlinearity_ltd=-3,
                              sigma_c2c=0.005), {}),
    "pcm": (PCMResponse(g_min=1e-7, g_max=2e-5, n_set=20, sigma_c2c=0.01, reset_level=0.02, sigma_reset=0.01),
            {"n_ltp": 40, "n_ltd": 5}),
}


def _trains(name: str, n_devices: int = 6, cycles: int = 3) -> pd.DataFrame:
    response, kw = CASES[name]
    return simulate_pulse_trains(Device(response=response), n_devices, cycles, torch.Generator().manual_seed(0), **kw)


@pytest.mark.parametrize("name", list(CASES))
def test_auto_picks_the_family_that_generated_the_data(name):
    fits = fit_families(_trains(name))
    chosen = best(fits)
    assert chosen.model == name and chosen.held_out, [(f.model, f.error, f.note) for f in fits]
    others = [f.error for f in fits if f is not chosen and f.device is not None]
    assert all(chosen.error < e for e in others)


def test_fitted_parameters_are_close_to_the_truth():
    sb = best(fit_families(_trains("soft_bounds"), ("soft_bounds",))).device.response
    assert sb.n_pulses == pytest.approx(40, rel=0.15) and sb.g_max == pytest.approx(1e-5, rel=0.1)
    ls = best(fit_families(_trains("linear_step"), ("linear_step",))).device.response
    assert ls.states == pytest.approx(50, rel=0.1) and ls.asymmetry == pytest.approx(0.1, abs=0.03)
    assert ls.sigma_c2c == pytest.approx(0.005, rel=0.2)
    pcm = best(fit_families(_trains("pcm"), ("pcm",))).device.response
    assert pcm.n_set == pytest.approx(20, rel=0.15) and pcm.reset_level < 0.05


def test_pcm_is_not_identifiable_from_gradual_depression():
    (fit,) = fit_families(_trains("soft_bounds"), ("pcm",))
    assert fit.device is None and "gradual" in fit.note


def _lab_layout(frame: pd.DataFrame) -> pd.DataFrame:
    """The same measurement as a lab might export it: polarity +1/-1 and conductance in uS."""
    return pd.DataFrame({"device": frame["device"], "cycle": frame["cycle"], "pulse": frame["pulse"],
                         "polarity": np.where(frame["direction"] == "ltp", 1, -1),
                         "conductance_uS": frame["conductance"] * 1e6})


def test_polarity_and_conductance_in_uS_are_recognised():
    frame = _trains("soft_bounds", 3, 2)
    lab = to_standard(_lab_layout(frame))
    assert np.allclose(lab["conductance"].to_numpy(), frame["conductance"].to_numpy(), rtol=1e-12)
    assert (lab["direction"] == frame["direction"]).all()


def test_explicit_column_names_and_a_layout_toml(tmp_path):
    frame = _trains("linear_step", 2, 2)
    lab = pd.DataFrame({"cell": frame["device"], "loop": frame["cycle"], "n": frame["pulse"],
                        "dir": frame["direction"].map({"ltp": "SET", "ltd": "RESET"}), "G": frame["conductance"] * 1e9})
    (tmp_path / "layout.toml").write_text('[columns]\ndevice = "cell"\ncycle = "loop"\npulse = "n"\n'
                                          'direction = "dir"\nconductance = "G"\nunit = "nS"\n')
    std = to_standard(lab, Layout.from_toml(tmp_path / "layout.toml"))
    assert np.allclose(std["conductance"].to_numpy(), frame["conductance"].to_numpy())
    with pytest.raises(ValueError, match="no column 'pulse'; columns: cell, loop, n, dir, G"):
        to_standard(lab)


@pytest.mark.parametrize("column, value, message", [
    ("pulse", "three", "column 'pulse' holds the non-numeric value 'three' in data row 4"),
    ("cycle", "c0", "column 'cycle' holds the non-numeric value 'c0' in data row 4"),
    ("cycle", 0.5, "column 'cycle' holds 0.5 in data row 4; it must be a whole number"),
    ("conductance", "1e-6 S", "column 'conductance' holds the non-numeric value '1e-6 S'"),
])
def test_malformed_cells_are_rejected_naming_column_row_and_value(column, value, message):
    bad = _trains("linear_step", 2, 1).head(60).astype({column: object})
    bad.loc[bad.index[3], column] = value
    with pytest.raises(ValueError, match=message):
        check_pulse_trains(bad)


def test_duplicated_rows_are_warned_about_and_dropped():
    frame = _trains("linear_step", 2, 2)
    doubled = pd.concat([frame, frame], ignore_index=True)
    with pytest.warns(DuplicateRowsWarning, match=f"{len(frame)} of {2 * len(frame)} rows are exact duplicates"):
        checked = check_pulse_trains(doubled)
    assert len(checked) == len(frame)
    clash = frame.copy()
    clash.loc[clash.index[5], "conductance"] *= 1.5
    with pytest.raises(ValueError, match="rows with different conductances"), \
            pytest.warns(DuplicateRowsWarning, match=f"{len(frame) - 1} of {2 * len(frame)} rows"):
        check_pulse_trains(pd.concat([frame, clash], ignore_index=True))


def test_cli_fits_a_lab_csv_and_the_device_file_is_usable_at_once(tmp_path):
    csv = tmp_path / "lab.csv"
    _lab_layout(_trains("soft_bounds", 4, 2)).to_csv(csv, index=False)
    out = tmp_path / "fitted.toml"
    result = runner.invoke(app, ["devices", "fit", str(csv), "--model", "auto", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "soft_bounds" in result.output and "<- chosen" in result.output and "linear_step" in result.output
    section = tomllib.loads(out.read_text())["device"]
    assert section["model"] == "soft_bounds"
    device = registry.build_device({"file": str(out)})
    assert device.response.n_pulses == section["n_pulses"]
    tweaked = registry.build_device({"preset": "ReRAM_SB", "file": str(out), "sigma_c2c": 0.0})
    assert tweaked.response.sigma_c2c == 0.0 and tweaked.response.n_pulses == section["n_pulses"]
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
