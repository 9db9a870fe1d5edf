"""`memlearn devices`: list, show, fit."""

from __future__ import annotations

import pytest
import torch
from typer.testing import CliRunner

from memlearn.cli import app
from memlearn.devices import Device, ExpLtpLtd
from memlearn.experiments.device_section import device_from_dict
from memlearn.devices.fit import simulate_pulse_trains

runner = CliRunner()


def test_list_shows_every_preset():
    result = runner.invoke(app, ["devices"])
    assert result.exit_code == 0, result.output
    for name in ("ideal", "ECRAM", "ReRAM_SB", "Ag_aSi", "TaOx_HfOx", "PCMO", "AlOx_HfO2", "GST_PCM", "EpiRAM",
                 "HZO_FeFET", "PCM"):
        assert name in result.output
    assert "-4.88" in result.output and "Jo et al." in result.output


def test_show_writes_png(tmp_path):
    out = tmp_path / "curve.png"
    result = runner.invoke(app, ["devices", "show", "Ag_aSi", "--out", str(out), "--devices", "3", "--pulses", "30"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_show_rejects_unknown_preset(tmp_path):
    result = runner.invoke(app, ["devices", "show", "unobtainium", "--out", str(tmp_path / "x.png")])
    assert result.exit_code != 0 and "allowed" in result.output


def test_fit_writes_loadable_config_and_plot(tmp_path):
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    true = ExpLtpLtd(g_min=1e-6, g_max=1e-5, n_ltp=40, n_ltd=40, nonlinearity_ltp=1.5, nonlinearity_ltd=-2.0,
                     sigma_c2c=0.005)
    csv = tmp_path / "data.csv"
    simulate_pulse_trains(Device(response=true), 4, 2, torch.Generator().manual_seed(0)).to_csv(csv, index=False)
    out = tmp_path / "mydevice.toml"
    result = runner.invoke(app, ["devices", "fit", str(csv), "--model", "exp_ltp_ltd", "--out", str(out)])
    assert result.exit_code == 0, result.output
    device = device_from_dict(tomllib.loads(out.read_text())["device"])
    assert abs(device.response.nonlinearity_ltp - 1.5) < 0.3
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
