"""Named, cited device presets: published devices with their parameters as published."""

from __future__ import annotations

from dataclasses import dataclass

from memlearn.devices.device import Device
from memlearn.devices.drift import Drift
from memlearn.devices.pcm_like import PCMLikeDrift
from memlearn.devices.read_noise import ReadNoise
from memlearn.devices.responses.exp_ltp_ltd import ExpLtpLtd
from memlearn.devices.responses.ideal import Ideal
from memlearn.devices.responses.linear_step import LinearStep
from memlearn.devices.responses.pcm import PCMResponse
from memlearn.devices.responses.soft_bounds import SoftBounds

_NEUROSIM = ("MLP+NeuroSim V3.0 user manual (P.-Y. Chen, X. Peng, S. Yu, 2018), Section 9, Table II; "
             "model of Chen, Peng & Yu, IEEE TCAD 2018, Eq. (1)-(3)")
_NEUROSIM_RANGE = ("the published write pulses (Table II), room temperature, 0..N identical pulses per "
                   "direction; cycle-to-cycle sigma relative to (Gmax - Gmin)")


@dataclass(frozen=True, kw_only=True)
class PresetInfo:
    """What ``memlearn devices`` prints about a preset."""

    name: str
    """Preset name, as passed to :func:`get_preset`."""
    model: str
    """Config name of the pulse-response model (``device.model``)."""
    description: str
    """Device stack and model in a few words."""
    source: str
    """Paper(s), venue, year, and the figure or table the parameters come from."""
    valid_range: str
    """Conditions under which the parameters hold (pulse scheme, counts, temperature)."""
    n_states: int
    """Distinguishable states (levels) as published or as the model gives."""
    on_off: float
    """G_max / G_min (dimensionless)."""
    nl_ltp: float | None
    """NeuroSim nonlinearity label of potentiation (None where the model has none)."""
    nl_ltd: float | None
    """NeuroSim nonlinearity label of depression (None where the model has none)."""
    c2c: float
    """Cycle-to-cycle std per pulse, relative to (G_max - G_min)."""
    d2d: float
    """Device-to-device relative std of the step (0 where the source gives none)."""

    @property
    def citation(self) -> str:
        """The first source, short enough for a table row."""
        head = self.source.split(";")[0].split(" (")[0]
        return head + ("; NeuroSim Table II" if "NeuroSim V3.0" in self.source else "")


def _neurosim(name: str, stack: str, paper: str, levels_ltp: int, levels_ltd: int, nl_ltp: float,
              nl_ltd: float, r_on: float, on_off: float, c2c: float, note: str = "") -> tuple[PresetInfo, Device]:
    g_max = 1.0 / r_on
    response = ExpLtpLtd(g_min=g_max / on_off, g_max=g_max, n_ltp=levels_ltp, n_ltd=levels_ltd,
                         nonlinearity_ltp=nl_ltp, nonlinearity_ltd=nl_ltd, sigma_c2c=c2c)
    info = PresetInfo(name=name, model="exp_ltp_ltd", description=f"{stack}, exponential LTP/LTD (NeuroSim){note}",
                      source=f"{paper}; parameters: {_NEUROSIM}", valid_range=_NEUROSIM_RANGE,
                      n_states=min(levels_ltp, levels_ltd), on_off=on_off, nl_ltp=nl_ltp, nl_ltd=nl_ltd,
                      c2c=c2c, d2d=0.0)
    return info, Device(response=response)


def _build() -> dict[str, tuple[PresetInfo, Device]]:
    table: dict[str, tuple[PresetInfo, Device]] = {}
    table["ideal"] = (
        PresetInfo(name="ideal", model="ideal", description="no non-ideality: 1000 equal symmetric steps, hard bounds",
                   source="baseline; the resistive processing unit of Gokmen & Vlasov, Front. Neurosci. 2016, "
                          "in its limit of perfect symmetry",
                   valid_range="any", n_states=1000, on_off=10.0, nl_ltp=0.0, nl_ltd=0.0, c2c=0.0, d2d=0.0),
        Device(response=Ideal(g_min=1e-6, g_max=1e-5, states=1000)))
    table["ECRAM"] = (
        PresetInfo(name="ECRAM", model="linear_step", description="near-ideal electrochemical RAM: ~1000 symmetric linear states",
                   source="Tang et al., 'ECRAM as scalable synaptic cell for high-speed, low-power neuromorphic "
                          "computing', IEDM 2018 (Li-ion ECRAM, ~1000 states, near-symmetric); Kim et al., "
                          "IEDM 2019 (metal-oxide ECRAM). Representative values, not a curve fit",
                   valid_range="constant-current pulses of the papers; up to 1000 pulses per direction",
                   n_states=1000, on_off=10.0, nl_ltp=0.0, nl_ltd=0.0, c2c=0.0003, d2d=0.05),
        Device(response=LinearStep(g_min=1e-6, g_max=1e-5, states=1000, asymmetry=0.0, sigma_c2c=0.0003,
                                   d2d_step=0.05, d2d_asymmetry=0.02, d2d_bounds=0.02)))
    table["ReRAM_SB"] = (
        PresetInfo(name="ReRAM_SB", model="soft_bounds", description="soft-bounds RRAM with moderate up/down asymmetry",
                   source="Gokmen & Haensch, 'Algorithm for training neural networks on resistive device "
                          "arrays', Front. Neurosci. 2020 (soft-bounds device, step d2d 30%, c2c 30% of the "
                          "step); aihwkit SoftBoundsDevice. Representative, not a fit of one device",
                   valid_range="identical pulses; up to ~2000 pulses per direction",
                   n_states=800, on_off=10.0, nl_ltp=None, nl_ltd=None, c2c=0.00075, d2d=0.3),
        Device(response=SoftBounds(g_min=1e-6, g_max=1e-5, n_pulses=400, asymmetry=0.05, sigma_c2c=0.00075,
                                   d2d_step=0.3, d2d_asymmetry=0.01, d2d_bounds=0.1)))
    for name, *args in [
        ("Ag_aSi", "Ag:a-Si", "Jo et al., Nano Lett. 2010", 97, 100, 2.40, -4.88, 26e6, 12.5, 0.035),
        ("TaOx_HfOx", "TaOx/HfOx", "Wu et al., VLSI 2018", 128, 128, 0.04, -0.63, 100e3, 10.0, 0.037),
        ("PCMO", "Pr0.7Ca0.3MnO3", "Park et al., IEDM 2013", 50, 50, 3.68, -6.76, 23e6, 6.84, 0.01),
        ("AlOx_HfO2", "AlOx/HfO2", "Woo et al., IEEE EDL 2016", 40, 40, 1.94, -0.61, 16.9e3, 4.43, 0.05),
        ("GST_PCM", "Ge2Sb2Te5 PCM", "Kuzum et al., Nano Lett. 2011", 100, 120, 0.105, 2.4, 4.71e3, 19.8, 0.015),
        ("EpiRAM", "epitaxial Ag:SiGe", "Choi et al., Nat. Mater. 2018", 64, 64, 0.5, -0.5, 81e3, 50.2, 0.02),
        ("HZO_FeFET", "Hf0.5Zr0.5O2 FeFET", "Jerry et al., IEDM 2017", 32, 32, 1.75, 1.46, 559e3, 45.0, 0.005),
    ]:
        table[name] = _neurosim(name, *args)
    table["PCM"] = (
        PresetInfo(name="PCM", model="pcm", description="doped-GST mushroom PCM: gradual SET, abrupt RESET, strong drift",
                   source="Nandakumar et al., J. Appl. Phys. 124, 152135 (2018), Fig. 3-4 (SET increment mean "
                          "and std vs G: the mean increment shrinks as G grows, ~90% of G_max after ~20 pulses, std comparable to the mean); drift and read noise after Joshi et al., "
                          "Nat. Commun. 11, 2473 (2020) and Le Gallo et al., Adv. Electron. Mater. 2018. "
                          "Approximate values read from the figures",
                   valid_range="partial-SET pulses of ~100 uA, 50 ns; 0..~30 SET pulses; reads 1 s .. 1 day "
                               "after programming, room temperature",
                   n_states=20, on_off=200.0, nl_ltp=None, nl_ltd=None, c2c=0.05, d2d=0.2),
        Device(response=PCMResponse(g_min=0.1e-6, g_max=20e-6, n_set=10, sigma_c2c=0.05, reset_level=0.0,
                                    sigma_reset=0.005, d2d_step=0.2, d2d_bounds=0.1),
               read_noise=ReadNoise(relative=0.02),
               drift=Drift(nu_mean=0.05, nu_std=0.02, t0=1.0)))
    table["PCM_like"] = (
        PresetInfo(name="PCM_like", model="ideal",
                   description="statistical PCM for inference: programming noise, drift and 1/f read noise fitted vs G "
                               "(aihwkit PCMLikeNoiseModel physics); programmed exactly, then the fitted error",
                   source="Nandakumar et al., 'Phase-change memory models for deep learning training and inference', "
                          "IEEE ICECS 2019 (programming-noise polynomial, drift-exponent mean/std vs G); Joshi et al., "
                          "Nat. Commun. 11, 2473 (2020), Methods (drift time origin, accumulated 1/f read noise); "
                          "the coefficients of aihwkit 1.1.0 PCMLikeNoiseModel(g_max=25)",
                   valid_range="inference only (iterative programming of a target, then reads 1 s .. 1 year); "
                               "g_max = 25 uS, the idle device of a pair at 0",
                   n_states=1000, on_off=25e6, nl_ltp=None, nl_ltd=None, c2c=0.0, d2d=0.0),
        Device(response=Ideal(g_min=1e-12, g_max=25e-6, states=1000), drift=PCMLikeDrift()))
    return table


_PRESETS = _build()


def _lookup(name: str) -> tuple[PresetInfo, Device]:
    if name in _PRESETS:
        return _PRESETS[name]
    folded = {k.lower(): k for k in _PRESETS}
    if isinstance(name, str) and name.lower() in folded:
        return _PRESETS[folded[name.lower()]]
    raise ValueError(f"preset={name!r} is unknown; allowed: {', '.join(_PRESETS)}")


def get_preset(name: str) -> Device:
    """The :class:`Device` of a named preset (case-insensitive); ValueError lists the names."""
    return _lookup(name)[1]


def preset_info(name: str) -> PresetInfo:
    """The :class:`PresetInfo` of a named preset."""
    return _lookup(name)[0]


def list_presets() -> list[PresetInfo]:
    """Every preset's summary, in a stable order."""
    return [info for info, _ in _PRESETS.values()]
