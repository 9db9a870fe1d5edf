"""Presets as published, and config sections <-> devices."""

from __future__ import annotations

import pytest
import torch

from memlearn.devices import Device, ExpLtpLtd, ReadNoise, get_preset, list_presets, preset_info
from memlearn.experiments.device_section import device_from_dict, device_to_dict

REQUIRED = ["ideal", "ECRAM", "ReRAM_SB", "Ag_aSi", "TaOx_HfOx", "PCMO", "AlOx_HfO2", "GST_PCM", "EpiRAM",
            "HZO_FeFET", "PCM"]
# NeuroSim V3.0 manual, Table II: levels, NL LTP / LTD, R_on, on/off, c2c sigma.
TABLE_II = {
    "Ag_aSi": (97, 2.40, -4.88, 26e6, 12.5, 0.035),
    "TaOx_HfOx": (128, 0.04, -0.63, 100e3, 10.0, 0.037),
    "PCMO": (50, 3.68, -6.76, 23e6, 6.84, 0.01),
    "AlOx_HfO2": (40, 1.94, -0.61, 16.9e3, 4.43, 0.05),
    "EpiRAM": (64, 0.5, -0.5, 81e3, 50.2, 0.02),
    "HZO_FeFET": (32, 1.75, 1.46, 559e3, 45.0, 0.005),
}


def test_every_required_preset_exists_and_cites_a_source():
    names = [p.name for p in list_presets()]
    assert names[: len(REQUIRED)] == REQUIRED or set(REQUIRED) <= set(names)
    for info in list_presets():
        assert isinstance(get_preset(info.name), Device)
        assert info.source and info.valid_range and info.n_states >= 1 and info.on_off > 1


@pytest.mark.parametrize("name", sorted(TABLE_II))
def test_neurosim_devices_as_published(name):
    levels, nl_ltp, nl_ltd, r_on, on_off, c2c = TABLE_II[name]
    resp = get_preset(name).response
    assert isinstance(resp, ExpLtpLtd)
    assert resp.g_max == pytest.approx(1 / r_on)
    assert resp.g_max / resp.g_min == pytest.approx(on_off)
    assert (resp.nonlinearity_ltp, resp.nonlinearity_ltd, resp.sigma_c2c) == (nl_ltp, nl_ltd, c2c)
    assert min(resp.n_ltp, resp.n_ltd) == levels == preset_info(name).n_states


def test_ag_asi_conductances_as_in_neurosim_code():
    resp = get_preset("Ag_aSi").response
    assert resp.g_max == pytest.approx(3.8462e-8, rel=1e-4)
    assert resp.g_min == pytest.approx(3.0769e-9, rel=1e-4)
    assert (resp.n_ltp, resp.n_ltd) == (97, 100)


def test_pcm_preset_drifts_and_resets_abruptly():
    dev = get_preset("PCM")
    assert dev.drift is not None and dev.drift.nu_mean >= 0.03
    state = dev.sample((1000,), torch.Generator().manual_seed(0))
    g = dev.pulse(dev.initial(state), torch.full((1000,), 10), state, torch.Generator().manual_seed(1))
    assert float(g.mean()) > 0.5 * float(state.g_max.mean())
    later = dev.read(g, state, t=86400.0)
    assert float((later / g).mean()) < 0.7


def test_unknown_preset_lists_names():
    with pytest.raises(ValueError, match="allowed: ideal, ECRAM"):
        get_preset("unobtainium")
    assert get_preset("taox_hfox") is get_preset("TaOx_HfOx")


@pytest.mark.parametrize("name", REQUIRED)
def test_config_round_trip(name):
    dev = get_preset(name)
    assert device_from_dict(device_to_dict(dev)) == dev
    assert device_from_dict({"preset": name}) == dev


def test_config_sections_build_devices():
    dev = device_from_dict({"model": "exp_ltp_ltd", "g_min": 1e-7, "g_max": 1e-6, "n_ltp": 50, "n_ltd": 50,
                            "nonlinearity_ltp": 1.0, "nonlinearity_ltd": -1.0, "sigma_c2c": 0.01,
                            "read_noise": {"relative": 0.03}, "faults": {"stuck_at_gmin": 0.01}})
    assert dev.read_noise == ReadNoise(relative=0.03)
    assert dev.faults.stuck_at_gmin == 0.01
    over = device_from_dict({"preset": "TaOx_HfOx", "sigma_c2c": 0.0})
    assert over.response.sigma_c2c == 0.0 and over.response.n_ltp == 128


@pytest.mark.parametrize("section, field", [
    ({"model": "exp_ltp_ltd", "g_min": 2e-6, "g_max": 1e-6}, "device.g_min"),
    ({"model": "soft_bounds", "sigma_c2c": -0.1}, "device.sigma_c2c"),
    ({"model": "soft_bounds", "colour": "red"}, "device.colour"),
    ({"model": "warp_drive"}, "device.model"),
    ({"preset": "PCM", "nonlinearity_ltp": 2.0}, "device.nonlinearity_ltp"),
    ({"preset": "nope"}, "device.preset"),
    ({"model": "ideal", "drift": {"nu_mean": -1}}, "device.drift.nu_mean"),
    ({"model": "ideal", "faults": {"stuck_at_gmax": 1.5}}, "device.faults.stuck_at_gmax"),
    ({"model": "linear_step", "states": "many"}, "device.states"),
])
def test_config_errors_name_the_field(section, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        device_from_dict(section)
