"""Fit the exponential LTP/LTD model to measured pulse trains (bring your own device).

Data: one row per measured conductance, columns ``device, cycle, pulse, direction, conductance``
(``docs/devices.md``). ``pulse`` counts the pulses applied so far in that train (0 = before the
first); ``direction`` is ``ltp`` (potentiation) or ``ltd`` (depression); conductance in S.

Method (conditional least squares for the Markov model of ``ExpLtpLtd``):
1. per device, ``G_min`` and ``G_max`` = the 1% and 99% quantiles of its conductances (the model
   clips at its bounds, so saturated trains sit there; the quantiles ignore rare outliers);
   nominal bounds are the means over devices, ``d2d_bounds`` their relative spread;
2. per direction, the NL label minimising the squared one-step prediction error
   ``sum (y_{k+1} - f_NL(y_k))^2`` on normalised conductances ``y`` (``f`` = one pulse of the
   model, ``N`` = the train length), by bounded scalar minimisation (scipy) over NL in [-9, 9],
   using only steps that start at least ``3 sigma_c2c + 2/N`` from the bounds (clipping would
   bias them). The nominal NL is fitted to all devices pooled; ``d2d_nonlinearity`` is the
   between-device std of per-device fits less their estimation error (Gauss-Newton variance);
3. ``sigma_c2c`` = robust std (1.4826 MAD) of those one-step residuals (two passes: the first
   with a thin margin gives the sigma that sets the margin of the second).
The train length sets ``N``; a device-to-device spread of N cannot be told apart from a spread of
the bounds with fixed-length trains, so ``d2d_step`` is reported as 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from scipy.optimize import minimize_scalar

from memlearn.devices.device import Device
from memlearn.devices.responses._nonlinearity import NL_MAX, normalized_a
from memlearn.devices.responses.exp_ltp_ltd import ExpLtpLtd

COLUMNS = ("device", "cycle", "pulse", "direction", "conductance")
"""Required CSV columns."""
_DIRECTIONS = {"ltp": 1, "+": 1, "up": 1, "set": 1, "potentiation": 1,
               "ltd": -1, "-": -1, "down": -1, "reset": -1, "depression": -1}


@dataclass(frozen=True, kw_only=True)
class FitResult:
    """A fitted device and how well it fits."""

    device: Device
    """The fitted model (``ExpLtpLtd`` response, no extra effects)."""
    rmse: float
    """Root-mean-square error of the fitted mean curves against the mean measured curves,
    relative to (G_max - G_min)."""
    nl_per_device: dict[str, np.ndarray]
    """Fitted NL labels per device, keys ``ltp`` and ``ltd``."""
    n_devices: int
    """Devices in the data."""
    n_cycles: int
    """Cycles per device (maximum)."""


def read_pulse_trains(path) -> pd.DataFrame:
    """Load and check a pulse-train CSV; ValueError names the missing column or bad value."""
    data = pd.read_csv(path)
    return check_pulse_trains(data)


def check_pulse_trains(data: pd.DataFrame, source: str = "pulse-train data") -> pd.DataFrame:
    """The trains with a ``sign`` column (+1 LTP, -1 LTD), sorted; every cell checked.

    Raises:
        ValueError: a missing column; a non-numeric or non-integer ``cycle``/``pulse``, a non-numeric,
            non-finite or negative conductance, an unknown direction (naming column, row and value);
            two different conductances for one measurement. Exact duplicate rows are dropped with a
            :class:`memlearn.devices.fit_layout.DuplicateRowsWarning`.
    """
    from memlearn.devices.fit_layout import DIRECTIONS, drop_duplicates, numeric_column

    missing = [c for c in COLUMNS if c not in data.columns]
    if missing:
        raise ValueError(f"{source} lacks column(s) {missing}; required: {', '.join(COLUMNS)}")
    data = data.reset_index(drop=True).copy()
    data["device"] = data["device"].astype(str)
    direction = data["direction"].astype(str).str.strip().str.lower()
    bad = sorted(set(direction) - set(DIRECTIONS))
    if bad:
        raise ValueError(f"direction={bad[0]!r} is not one of {', '.join(_DIRECTIONS)}")
    data["sign"] = direction.map(DIRECTIONS).astype(int)
    data["direction"] = data["sign"].map({1: "ltp", -1: "ltd"})
    data["cycle"] = numeric_column(data, "cycle", source, integer=True).astype(np.int64)
    data["pulse"] = numeric_column(data, "pulse", source, integer=True).astype(np.int64)
    g = numeric_column(data, "conductance", source, integer=False)
    if not np.isfinite(g).all() or (g < 0).any():
        raise ValueError("conductance must be finite and >= 0 (S) in every row")
    data["conductance"] = g
    if (data["pulse"] < 0).any():
        raise ValueError("pulse must be >= 0 in every row")
    data = drop_duplicates(data, source)
    return data.sort_values(["device", "cycle", "sign", "pulse"], ascending=[True, True, False, True])


def _one_step(y: np.ndarray, a: float, n: int, sign: int) -> np.ndarray:
    """One pulse of the normalised model from ``y`` (G_min = 0, G_max = 1)."""
    big_a = a * n
    b = 1.0 / (-math.expm1(-n / big_a))
    if sign > 0:
        return y + (b - y) * (-math.expm1(-1.0 / big_a))
    return y + (b - y) * (-math.expm1(1.0 / big_a))


def _curve(a: float, n: int, sign: int) -> np.ndarray:
    """Mean normalised curve over a full train: LTP from 0, LTD from 1 (pulses 0..n)."""
    y = np.empty(n + 1)
    y[0] = 0.0 if sign > 0 else 1.0
    for k in range(n):  # n <= a few hundred: a reference curve for plots and the rmse, not a hot path
        y[k + 1] = _one_step(y[k : k + 1], a, n, sign)[0]
    return np.clip(y, 0.0, 1.0)


def _transitions(trains: pd.DataFrame, lo: float, hi: float, sign: int):
    y0, y1 = [], []
    for _, train in trains[trains["sign"] == sign].groupby("cycle"):
        y = (train["conductance"].to_numpy() - lo) / (hi - lo)
        y0.append(y[:-1])
        y1.append(y[1:])
    return np.concatenate(y0), np.concatenate(y1)


def _inside(y0: np.ndarray, y1: np.ndarray, margin: float) -> tuple[np.ndarray, np.ndarray]:
    # Select on the starting point only: selecting on y1 (or keeping steps that may have been
    # clipped at a bound) would bias the steps near the bounds, i.e. the curvature.
    keep = (y0 > margin) & (y0 < 1.0 - margin)
    return y0[keep], y1[keep]


def _fit_label(y0: np.ndarray, y1: np.ndarray, n: int, sign: int) -> tuple[float, float, np.ndarray]:
    """Least-squares NL label, its standard error (Gauss-Newton), and the residuals."""
    if y0.size < 3:
        raise ValueError("too few measured points away from G_min/G_max to fit the curvature")

    def predict(nl: float) -> np.ndarray:
        return _one_step(y0, normalized_a(nl), n, sign)

    def loss(nl: float) -> float:
        return float(np.sum((y1 - predict(nl)) ** 2))

    # The loss can have several local minima across the sign change of NL: grid, then refine.
    grid = np.linspace(-NL_MAX, NL_MAX, 91)
    best = int(np.argmin([loss(v) for v in grid]))
    lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, grid.size - 1)]
    res = minimize_scalar(loss, bounds=(lo, hi), method="bounded", options={"xatol": 1e-4})
    nl = float(res.x)
    resid = y1 - predict(nl)
    h = 1e-3
    jac = (predict(min(nl + h, NL_MAX)) - predict(max(nl - h, -NL_MAX))) / (min(nl + h, NL_MAX) - max(nl - h, -NL_MAX))
    se2 = float(np.mean(resid**2) / max(np.sum(jac**2), 1e-300))
    return nl, se2, resid


def _fit_all(data: pd.DataFrame, n_ltp: int, n_ltd: int, margin: float):
    bounds, steps = [], {1: [], -1: []}
    for _, trains in data.groupby("device"):
        g = trains["conductance"].to_numpy()
        lo, hi = float(np.quantile(g, 0.01)), float(np.quantile(g, 0.99))
        if not hi > lo > 0:
            raise ValueError(f"device {trains['device'].iloc[0]!r}: conductances must span a range above 0 S")
        bounds.append((lo, hi))
        for sign in (1, -1):
            steps[sign].append(_inside(*_transitions(trains, lo, hi, sign), margin))
    nominal, per_device, excess, residuals = {}, {}, [], []
    for sign, n, key in ((1, n_ltp, "ltp"), (-1, n_ltd, "ltd")):
        y0 = np.concatenate([s[0] for s in steps[sign]])
        y1 = np.concatenate([s[1] for s in steps[sign]])
        nominal[key], _, resid = _fit_label(y0, y1, n, sign)
        residuals.append(resid)
        fits = [_fit_label(a, b, n, sign) for a, b in steps[sign]]
        per_device[key] = np.array([f[0] for f in fits])
        # Between-device variance minus the estimation variance of each device's label; robust
        # (MAD, medians) because noisy devices can put single labels at the range ends.
        labels = per_device[key]
        spread = 1.4826 * np.median(np.abs(labels - np.median(labels)))
        excess.append(spread**2 - np.median([f[1] for f in fits]))
    res = np.concatenate(residuals)
    sigma = float(1.4826 * np.median(np.abs(res - np.median(res)))) if res.size else 0.0
    d2d_nl = float(np.sqrt(max(0.0, float(np.mean(excess))))) if len(bounds) > 1 else 0.0
    return np.array(bounds).T, nominal, per_device, sigma, d2d_nl


def fit_exp_ltp_ltd(data: pd.DataFrame) -> FitResult:
    """Fit :class:`ExpLtpLtd` (bounds, NL labels, pulse counts, c2c and d2d spreads) to pulse trains."""
    data = check_pulse_trains(data)
    n_ltp = int(data.loc[data["sign"] > 0, "pulse"].max()) if (data["sign"] > 0).any() else 0
    n_ltd = int(data.loc[data["sign"] < 0, "pulse"].max()) if (data["sign"] < 0).any() else 0
    if not (n_ltp >= 2 and n_ltd >= 2):
        raise ValueError("data needs LTP and LTD trains of at least 2 pulses each")
    # Two passes: the first (thin margin) estimates sigma_c2c; the second keeps only steps that
    # start far enough from the bounds (3 sigma + 2 steps) for clipping not to act.
    sigma = _fit_all(data, n_ltp, n_ltd, margin=0.02)[3]
    margin = min(0.3, 3.0 * sigma + 2.0 / min(n_ltp, n_ltd))
    (lo, hi), nominal, per_device, sigma, d2d_nl = _fit_all(data, n_ltp, n_ltd, margin=margin)
    d2d_bounds = float(np.mean([np.std(lo) / np.mean(lo), np.std(hi) / np.mean(hi)])) if len(lo) > 1 else 0.0
    response = ExpLtpLtd(g_min=float(np.mean(lo)), g_max=float(np.mean(hi)), n_ltp=n_ltp, n_ltd=n_ltd,
                         nonlinearity_ltp=nominal["ltp"], nonlinearity_ltd=nominal["ltd"],
                         sigma_c2c=min(sigma, 1.0), d2d_nonlinearity=min(d2d_nl, 5.0),
                         d2d_bounds=min(d2d_bounds, 0.5))
    rmse = _rmse(data, response)
    return FitResult(device=Device(response=response), rmse=rmse, nl_per_device=per_device,
                     n_devices=len(lo), n_cycles=int(data.groupby("device")["cycle"].nunique().max()))


def model_curves(response: ExpLtpLtd) -> tuple[np.ndarray, np.ndarray]:
    """Nominal mean conductance (S) over a full LTP train then a full LTD train."""
    span = response.g_max - response.g_min
    up = _curve(normalized_a(response.nonlinearity_ltp), response.n_ltp, 1)
    down = _curve(normalized_a(response.nonlinearity_ltd), response.n_ltd, -1)
    return response.g_min + span * up, response.g_min + span * down


def mean_curves(data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Mean measured conductance (S) per pulse index, LTP and LTD."""
    data = check_pulse_trains(data)
    up = data[data["sign"] > 0].groupby("pulse")["conductance"].mean().to_numpy()
    down = data[data["sign"] < 0].groupby("pulse")["conductance"].mean().to_numpy()
    return up, down


def _rmse(data: pd.DataFrame, response: ExpLtpLtd) -> float:
    up, down = mean_curves(data)
    m_up, m_down = model_curves(response)
    k_up, k_down = min(len(up), len(m_up)), min(len(down), len(m_down))
    err = np.concatenate([up[:k_up] - m_up[:k_up], down[:k_down] - m_down[:k_down]])
    return float(np.sqrt(np.mean(err**2)) / (response.g_max - response.g_min))


def simulate_pulse_trains(device: Device, n_devices: int, n_cycles: int, generator: torch.Generator,
                          n_ltp: int | None = None, n_ltd: int | None = None) -> pd.DataFrame:
    """Synthetic measurement in the CSV layout: every device starts at G_min and runs ``n_cycles``
    of ``n_ltp`` potentiation then ``n_ltd`` depression pulses, one pulse at a time, all devices
    at once (the loop is over pulses of the protocol, vectorised over devices)."""
    response = device.response
    n_ltp = n_ltp or getattr(response, "n_ltp", 100)
    n_ltd = n_ltd or getattr(response, "n_ltd", 100)
    state = device.sample((n_devices,), generator, dtype=torch.float64)
    g = device.initial(state)
    rows = []
    ids = np.arange(n_devices)
    for cycle in range(n_cycles):
        for direction, count in (("ltp", n_ltp), ("ltd", n_ltd)):
            step = torch.full((n_devices,), 1 if direction == "ltp" else -1, dtype=torch.int32)
            for pulse in range(count + 1):
                if pulse:
                    g = device.pulse(g, step, state, generator)
                rows.append(pd.DataFrame({"device": ids, "cycle": cycle, "pulse": pulse, "direction": direction,
                                          "conductance": g.numpy().copy()}))
    return pd.concat(rows, ignore_index=True)
