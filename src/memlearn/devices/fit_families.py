"""Fit every pulse-response family that pulse trains identify, and compare them on held-out trains.

Families: ``linear_step`` (constant step), ``soft_bounds`` (step proportional to the distance to the
bound it approaches), ``exp_ltp_ltd`` (NeuroSim's exponential curves, :func:`memlearn.devices.fit.fit_exp_ltp_ltd`)
and ``pcm`` (soft-bounded SET, abrupt RESET), the last only where the depression trains are abrupt.

Each family is fitted to the *training* trains by least squares on the one-step increments of the
conductance normalised per device, ``y = (G - G_min,d) / (G_max,d - G_min,d)`` (bounds: the
device's 1% and 99% quantiles), using steps that start at least ``MARGIN`` from the bounds:

- linear_step: ``E[dy] = +dg (1 + a)`` up, ``-dg (1 - a)`` down (Gokmen & Vlasov, Front. Neurosci. 2016);
- soft_bounds: ``E[dy] = alpha_up (y_max - y)`` up, ``-alpha_down (y - y_min)`` down (Fusi & Abbott, Nat.
  Neurosci. 2007), a straight line of the step against ``y`` whose zero gives the bound;
- pcm: SET as soft bounds up (Nandakumar et al., J. Appl. Phys. 2018, Fig. 3); RESET level = mean ``y``
  after the first depression pulse.

The held-out error is the rms difference between each held-out train and the family's mean
prediction from that train's first measured conductance, ``E[G_k | G_0]`` of the response's own
closed-form ``moments`` (clipped to the bounds), relative to the nominal ``G_max - G_min`` of the data.
Held out: the last cycle of every device when each device has two or more; otherwise the last
quarter of the devices; with one cycle of one device nothing can be held out and the in-sample
error is reported (``held_out = False``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from memlearn.devices.device import Device
from memlearn.devices.fit import check_pulse_trains, fit_exp_ltp_ltd
from memlearn.devices.response import PulseResponse
from memlearn.devices.responses.linear_step import LinearStep
from memlearn.devices.responses.pcm import PCMResponse
from memlearn.devices.responses.soft_bounds import SoftBounds

FAMILIES = ("linear_step", "soft_bounds", "exp_ltp_ltd", "pcm")
"""Families ``memlearn devices fit --model`` accepts (plus ``auto``)."""
MARGIN = 0.05
"""Steps starting closer than this (normalised) to a bound are not used: clipping biases them."""
ABRUPT = 0.7
"""PCM is identifiable when the first depression pulse makes at least this fraction of a train's drop."""


@dataclass(frozen=True, kw_only=True)
class FamilyFit:
    """One family fitted to the training trains, scored on the held-out ones."""

    model: str
    """Family name (``memlearn.experiments.registry.DEVICE_MODELS`` key)."""
    device: Device | None
    """The fitted device; ``None`` where the family is not identifiable from the data."""
    error: float
    """Rms error of the mean prediction on the held-out trains, relative to G_max - G_min (``inf`` if not fitted)."""
    held_out: bool
    """Whether ``error`` is on held-out trains (False: in-sample, nothing could be held out)."""
    note: str = ""
    """Why the family was not fitted, or a remark on the fit."""


def split_trains(data: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, bool]:
    """``(train, test, held_out)``: the last cycle of every device, or the last quarter of the devices."""
    cycles = data.groupby("device")["cycle"].nunique()
    if (cycles >= 2).all():
        last = data.groupby("device")["cycle"].transform("max")
        test = data["cycle"] == last
        return data[~test], data[test], True
    devices = sorted(data["device"].unique())
    if len(devices) >= 2:
        test_devices = set(devices[len(devices) - max(1, len(devices) // 4):])
        test = data["device"].isin(test_devices)
        return data[~test], data[test], True
    return data, data, False


def _bounds(data: pd.DataFrame) -> pd.DataFrame:
    """Per device: ``lo, hi`` (1% and 99% quantiles of its conductances, S)."""
    q = data.groupby("device")["conductance"].quantile([0.01, 0.99]).unstack()
    q.columns = ["lo", "hi"]
    bad = q[~(q["hi"] > q["lo"])]
    if len(bad):
        raise ValueError(f"device {bad.index[0]!r}: conductances must span a range (G_max > G_min)")
    return q


def _steps(data: pd.DataFrame, bounds: pd.DataFrame) -> pd.DataFrame:
    """Consecutive one-pulse steps ``(device, sign, pulse, y0, y1)`` in per-device normalised conductance."""
    d = data.sort_values(["device", "cycle", "sign", "pulse"]).reset_index(drop=True)
    lo, hi = d["device"].map(bounds["lo"]), d["device"].map(bounds["hi"])
    d["y"] = (d["conductance"] - lo) / (hi - lo)
    nxt = d.groupby(["device", "cycle", "sign"])[["pulse", "y"]].shift(-1)
    keep = (nxt["pulse"] == d["pulse"] + 1).to_numpy()
    return pd.DataFrame({"device": d["device"][keep].to_numpy(), "sign": d["sign"][keep].to_numpy(),
                         "pulse": d["pulse"][keep].to_numpy(), "y0": d["y"][keep].to_numpy(),
                         "y1": nxt["y"][keep].to_numpy()})


def _robust_std(r: np.ndarray) -> float:
    return float(1.4826 * np.median(np.abs(r - np.median(r)))) if r.size else 0.0


def _relative_spread(values: pd.Series) -> float:
    """Between-device relative std of a per-device estimate (0 with one device)."""
    v = values.to_numpy(dtype=float)
    return float(np.std(v) / abs(np.mean(v))) if v.size > 1 and np.mean(v) != 0 else 0.0


def _common(bounds: pd.DataFrame) -> dict:
    spread = 0.0
    if len(bounds) > 1:
        spread = float(np.mean([bounds["lo"].std(ddof=0) / bounds["lo"].mean(), bounds["hi"].std(ddof=0) / bounds["hi"].mean()]))
    return {"g_min": float(bounds["lo"].mean()), "g_max": float(bounds["hi"].mean()), "d2d_bounds": min(spread, 0.5)}


def _interior(steps: pd.DataFrame, sign: int) -> pd.DataFrame:
    s = steps[(steps["sign"] == sign) & (steps["y0"] > MARGIN) & (steps["y0"] < 1 - MARGIN)]
    if len(s) < 3:
        raise ValueError(f"too few {'potentiation' if sign > 0 else 'depression'} steps away from the bounds to fit")
    return s


def fit_linear_step(data: pd.DataFrame) -> LinearStep:
    """Constant up/down steps: mean increments inside the bounds; c2c = robust std of the increments."""
    bounds = _bounds(data)
    steps = _steps(data, bounds)
    up, down = _interior(steps, 1), _interior(steps, -1)
    du, dd = float((up["y1"] - up["y0"]).mean()), float((down["y0"] - down["y1"]).mean())
    if not (du > 0 and dd > 0):
        raise ValueError("potentiation must raise and depression lower the mean conductance")
    dg = (du + dd) / 2
    resid = np.concatenate([(up["y1"] - up["y0"] - du).to_numpy(), (down["y0"] - down["y1"] - dd).to_numpy()])
    per_device = (up.assign(d=up["y1"] - up["y0"]).groupby("device")["d"].mean()
                  + down.assign(d=down["y0"] - down["y1"]).groupby("device")["d"].mean()) / 2
    return LinearStep(**_common(bounds), states=max(1, int(round(1 / dg))),
                      asymmetry=float(np.clip((du - dd) / (du + dd), -0.99, 0.99)),
                      sigma_c2c=min(_robust_std(resid), 1.0), d2d_step=min(_relative_spread(per_device.dropna()), 1.0))


def _soft_rate(s: pd.DataFrame, sign: int) -> tuple[float, float, np.ndarray, pd.Series]:
    """Least-squares line ``dy = c0 + c1 y0`` of one direction's steps, read as soft bounds:
    ``dy = alpha (y_max - y0)`` up or ``dy = -alpha (y0 - y_min)`` down, so ``alpha = -c1`` and the bound
    ``c0 / alpha`` (soft-bounded trains approach their bound without reaching it, so the 1%/99% quantiles
    alone would put it too close). Returns alpha, the bound (normalised), the residuals, alpha per device."""
    y0, dy = s["y0"].to_numpy(), (s["y1"] - s["y0"]).to_numpy()
    c1, c0 = np.polyfit(y0, dy, 1)
    alpha = -float(c1)
    bound = float(c0 / alpha) if alpha > 0 else (1.0 if sign > 0 else 0.0)
    frame = pd.DataFrame({"device": s["device"].to_numpy(), "y0": y0, "dy": dy})
    per_device = frame.groupby("device").apply(
        lambda f: -np.polyfit(f["y0"], f["dy"], 1)[0] if f["y0"].nunique() > 2 else np.nan, include_groups=False)
    return alpha, bound, dy - (c0 + c1 * y0), per_device


def _rescale(common: dict, y_min: float, y_max: float) -> dict:
    """``common`` with the nominal bounds moved to the normalised ``y_min``, ``y_max`` (clamped to [-0.5, 1.5])."""
    lo, span = common["g_min"], common["g_max"] - common["g_min"]
    y_min, y_max = float(np.clip(y_min, -0.5, 0.5)), float(np.clip(y_max, 0.5, 1.5))
    return {**common, "g_min": max(lo + y_min * span, 1e-3 * lo), "g_max": lo + y_max * span}


def fit_soft_bounds(data: pd.DataFrame) -> SoftBounds:
    """Soft bounds: rates and bounds from the step-vs-conductance lines; c2c = robust std of the residuals (additive)."""
    bounds = _bounds(data)
    steps = _steps(data, bounds)
    au, y_max, ru, pu = _soft_rate(_interior(steps, 1), 1)
    ad, y_min, rd, pd_ = _soft_rate(_interior(steps, -1), -1)
    if not (au > 0 and ad > 0):
        raise ValueError("the steps do not shrink toward the bound they approach: not soft-bounded")
    common = _rescale(_common(bounds), y_min, y_max)
    span_ratio = (bounds["hi"].mean() - bounds["lo"].mean()) / (common["g_max"] - common["g_min"])
    alpha = (au + ad) / 2
    return SoftBounds(**common, n_pulses=max(2, int(round(1 / alpha))),
                      asymmetry=float(np.clip((au - ad) / (au + ad), -0.99, 0.99)),
                      sigma_c2c=float(min(_robust_std(np.concatenate([ru, rd])) * span_ratio, 1.0)),
                      d2d_step=min(_relative_spread(((pu + pd_) / 2).dropna()), 1.0))


def pcm_identifiable(data: pd.DataFrame) -> tuple[bool, str]:
    """Whether the depression trains are abrupt RESETs (first pulse makes most of the drop)."""
    down = data[data["sign"] < 0]
    start = down[down["pulse"] == 0].groupby(["device", "cycle"])["conductance"].mean()
    first = down[down["pulse"] == 1].groupby(["device", "cycle"])["conductance"].mean()
    last = down.loc[down.groupby(["device", "cycle"])["pulse"].idxmax()].set_index(["device", "cycle"])["conductance"]
    total = (start - last).clip(lower=0).sum()
    if total <= 0 or first.empty:
        return False, "no depression trains with a drop"
    share = float((start - first).sum() / total)
    if share < ABRUPT:
        return False, f"depression is gradual (the first pulse makes {share:.0%} of the drop): not a PCM RESET"
    return True, f"the first depression pulse makes {share:.0%} of the drop"


def fit_pcm(data: pd.DataFrame) -> PCMResponse:
    """PCM: SET rate and saturation from the SET step-vs-conductance line; RESET level and spread from the
    conductances after RESET pulses."""
    bounds = _bounds(data)
    steps = _steps(data, bounds)
    a, y_max, resid, per_device = _soft_rate(_interior(steps, 1), 1)
    if not a > 0:
        raise ValueError("the SET steps do not shrink toward G_max: not a PCM SET")
    common = _rescale(_common(bounds), 0.0, y_max)
    span_ratio = (bounds["hi"].mean() - bounds["lo"].mean()) / (common["g_max"] - common["g_min"])
    after = steps[(steps["sign"] < 0)]["y1"].to_numpy() * span_ratio
    return PCMResponse(**common, n_set=max(2, int(round(1 / a))), sigma_c2c=float(min(_robust_std(resid) * span_ratio, 1.0)),
                       reset_level=float(np.clip(np.mean(after), 0.0, 1.0)) if after.size else 0.0,
                       sigma_reset=float(np.clip(np.std(after), 0.0, 1.0)) if after.size else 0.0,
                       d2d_step=min(_relative_spread(per_device.dropna()), 1.0))


def prediction_error(response: PulseResponse, data: pd.DataFrame, span: float) -> float:
    """Rms of ``G_k - E[G_k | G_0]`` over every train of ``data`` (k = its pulses), relative to ``span`` (S).

    The expectation is the response's closed-form mean (``moments``) without device-to-device
    spread, from each train's measured pulse-0 conductance, clipped to the nominal bounds."""
    d = data.sort_values(["device", "cycle", "sign", "pulse"]).reset_index(drop=True)
    g0 = d.groupby(["device", "cycle", "sign"])["conductance"].transform("first")
    nominal = without_spread(response)
    params = nominal.sample((len(d),), torch.Generator().manual_seed(0), dtype=torch.float64)
    n = torch.tensor((d["pulse"] * d["sign"]).to_numpy(), dtype=torch.int64)
    start = torch.tensor(g0.to_numpy(), dtype=torch.float64)
    mean, _ = nominal.moments(start, n, params)
    mean = torch.where(n == 0, start, mean)
    mean = mean.clamp(float(nominal.g_min), float(nominal.g_max)).numpy()
    return float(np.sqrt(np.mean((d["conductance"].to_numpy() - mean) ** 2)) / span)


def without_spread(response: PulseResponse) -> PulseResponse:
    """``response`` with every device-to-device spread (``d2d_*``) set to 0: the nominal device."""
    import dataclasses

    spreads = {f.name: 0.0 for f in dataclasses.fields(response) if f.name.startswith("d2d_")}
    return dataclasses.replace(response, **spreads)


_FITTERS = {"linear_step": fit_linear_step, "soft_bounds": fit_soft_bounds,
            "exp_ltp_ltd": lambda d: fit_exp_ltp_ltd(d).device.response, "pcm": fit_pcm}


def fit_families(data: pd.DataFrame, families: tuple[str, ...] = FAMILIES) -> list[FamilyFit]:
    """Fit each of ``families`` to the training trains; score each on the held-out trains."""
    data = check_pulse_trains(data)
    train, test, held_out = split_trains(data)
    b = _bounds(data)
    span = float(b["hi"].mean() - b["lo"].mean())
    out = []
    for name in families:
        if name not in _FITTERS:
            raise ValueError(f"model={name!r} cannot be fitted; allowed: {', '.join(FAMILIES)}, auto")
        note = ""
        if name == "pcm":
            ok, note = pcm_identifiable(data)
            if not ok:
                out.append(FamilyFit(model=name, device=None, error=math.inf, held_out=held_out, note=note))
                continue
        try:
            response = _FITTERS[name](train)
        except ValueError as exc:
            out.append(FamilyFit(model=name, device=None, error=math.inf, held_out=held_out, note=str(exc)))
            continue
        out.append(FamilyFit(model=name, device=Device(response=response), error=prediction_error(response, test, span),
                             held_out=held_out, note=note))
    return out


def best(fits: list[FamilyFit]) -> FamilyFit:
    """The fitted family with the lowest held-out error."""
    fitted = [f for f in fits if f.device is not None]
    if not fitted:
        raise ValueError("no family could be fitted: " + "; ".join(f"{f.model}: {f.note}" for f in fits))
    return min(fitted, key=lambda f: f.error)
