"""Accuracy of a deployed model over drift time, mean +- std over chip instances."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from memlearn.hardware_aware.deploy import ChipConfig, ProgrammingReport, deploy
from memlearn.nn.convert import set_read_time

DRIFT_TIMES: dict[str, float] = {
    "1 s": 1.0,
    "1 h": 3600.0,
    "1 day": 86400.0,
    "1 month": 30 * 86400.0,
    "1 year": 365 * 86400.0,
}
"""The evaluation times after programming (s), by label."""


@torch.no_grad()
def accuracy(model: nn.Module, x: Tensor, y: Tensor, batch_size: int = 1000) -> float:
    """Top-1 accuracy of ``model`` on ``(x, y)``, evaluated in batches."""
    model.eval()
    correct = 0
    for i in range(0, len(x), batch_size):
        correct += int((model(x[i:i + batch_size]).argmax(-1) == y[i:i + batch_size]).sum())
    return correct / max(len(x), 1)


@dataclass(frozen=True)
class DriftEvaluation:
    """Accuracies of ``n_chips`` programmed chips at each time, with and without compensation."""

    times: dict[str, float]
    """Evaluation times (s) by label."""
    uncompensated: Tensor
    """Accuracy (n_chips, n_times) without drift compensation."""
    compensated: Tensor
    """Accuracy (n_chips, n_times) with global drift compensation."""
    reports: tuple[ProgrammingReport, ...]
    """Programming report of every chip."""

    def rows(self) -> list[dict]:
        """One dict per time: label, t (s), mean and std (over chips) with and without compensation."""
        out = []
        for j, (label, t) in enumerate(self.times.items()):
            u, c = self.uncompensated[:, j], self.compensated[:, j]
            out.append(dict(time=label, t=t, mean=float(u.mean()), std=float(u.std()) if len(u) > 1 else 0.0,
                            mean_compensated=float(c.mean()),
                            std_compensated=float(c.std()) if len(c) > 1 else 0.0))
        return out

    def to_markdown(self) -> str:
        lines = ["| time | accuracy (no compensation) | accuracy (global drift compensation) |", "|---|---|---|"]
        for r in self.rows():
            lines.append(f"| {r['time']} | {100 * r['mean']:.2f} +- {100 * r['std']:.2f} % "
                         f"| {100 * r['mean_compensated']:.2f} +- {100 * r['std_compensated']:.2f} % |")
        return "\n".join(lines)


def evaluate_over_time(model: nn.Module, chip: ChipConfig, x: Tensor, y: Tensor, *, n_chips: int = 10,
                       times: dict[str, float] | None = None, calibration_inputs: Tensor | None = None,
                       batch_size: int = 1000) -> DriftEvaluation:
    """Deploy ``model`` on ``n_chips`` chip instances (seeds ``chip.seed .. chip.seed + n_chips - 1``:
    different device-to-device draws, programming and read noise) and measure test accuracy at
    each time after programming, with and without global drift compensation.

    Args:
        model: trained torch model (plain or hardware-aware prepared).
        chip: the chip; ``drift_compensation`` is switched on to take the reference read.
        x, y: test inputs and labels.
        n_chips: chip instances (>= 1; the issue asks for >= 10).
        times: evaluation times (s) by label; default :data:`DRIFT_TIMES`.
        calibration_inputs: inputs for per-column gain/offset calibration (None = none).
    """
    if n_chips < 1:
        raise ValueError(f"n_chips={n_chips!r} must be >= 1")
    times = dict(times or DRIFT_TIMES)
    for label, t in times.items():
        if not (math.isfinite(t) and t > 0):
            raise ValueError(f"times[{label!r}]={t!r} must be a positive number of seconds")
    unc = torch.zeros(n_chips, len(times))
    comp = torch.zeros(n_chips, len(times))
    reports = []
    for i in range(n_chips):
        instance = dataclasses.replace(chip, seed=chip.seed + i, drift_compensation=True)
        analog, report = deploy(model, instance, calibration_inputs=calibration_inputs)
        reports.append(report)
        for j, t in enumerate(times.values()):
            set_read_time(analog, t, compensate=False)
            unc[i, j] = accuracy(analog, x, y, batch_size)
            set_read_time(analog, t, compensate=True)
            comp[i, j] = accuracy(analog, x, y, batch_size)
    return DriftEvaluation(times=times, uncompensated=unc, compensated=comp, reports=tuple(reports))
