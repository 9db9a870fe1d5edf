"""Figures and tables of a run, written as files (``fig_<name>.png``, ``table_<name>.md``).

Matplotlib with the Agg backend (no display needed). Each function takes plain data and a path,
so that reports can be regenerated from files alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from memlearn.experiments.storage import atomic_write_bytes, atomic_write_text  # noqa: E402


def _save(fig, path: Path) -> None:
    import io

    buf = io.BytesIO()
    fig.subplots_adjust(left=0.1, right=0.97, bottom=0.16, top=0.9, wspace=0.3)
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def learning_curves(history: list[dict], path: Path) -> None:
    """Test accuracy and training loss per epoch, analog chip next to its float baseline."""
    epochs = [h["epoch"] for h in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
    for key, label, style in (("test_accuracy", "analog (chip)", "-o"), ("float_test_accuracy", "float baseline", "--s")):
        vals = [h.get(key) for h in history]
        if any(v is not None for v in vals):
            ax1.plot(epochs, [np.nan if v is None else v for v in vals], style, label=label, ms=3)
    for key, label, style in (("train_loss", "analog (chip)", "-o"), ("float_train_loss", "float baseline", "--s")):
        vals = [h.get(key) for h in history]
        if any(v is not None for v in vals):
            ax2.plot(epochs, [np.nan if v is None else v for v in vals], style, label=label, ms=3)
    ax1.set(xlabel="epoch", ylabel="test accuracy", title="Test accuracy")
    ax2.set(xlabel="epoch", ylabel="cross-entropy", title="Training loss")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend()
    _save(fig, path)


def conductance_histograms(before: dict[str, np.ndarray], after: dict[str, np.ndarray], path: Path) -> None:
    """Per layer, histograms of every device's conductance (uS) before and after training."""
    names = list(after)
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.2), squeeze=False)
    for ax, name in zip(axes[0], names):
        a, b = np.asarray(after[name]).ravel() * 1e6, np.asarray(before.get(name, after[name])).ravel() * 1e6
        bins = np.linspace(min(a.min(), b.min()), max(a.max(), b.max()) + 1e-12, 50)
        ax.stairs(np.histogram(b, bins)[0], bins, fill=True, alpha=0.5, label="before")
        ax.stairs(np.histogram(a, bins)[0], bins, fill=True, alpha=0.5, label="after")
        ax.set(xlabel="conductance (uS)", ylabel="devices", title=f"layer {name}")
        ax.legend()
    _save(fig, path)


def pulses_per_device(writes: dict[str, np.ndarray], path: Path) -> None:
    """Per layer, histogram of cumulative write pulses per device (endurance budget used)."""
    names = list(writes)
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.2), squeeze=False)
    for ax, name in zip(axes[0], names):
        w = np.asarray(writes[name]).ravel()
        bins = np.linspace(0, max(int(w.max()), 1), 41)
        ax.stairs(np.histogram(w, bins)[0], bins, fill=True)
        ax.set(xlabel="write pulses per device", ylabel="devices", title=f"layer {name} (max {int(w.max())})")
        ax.set_yscale("log")
    _save(fig, path)


def accuracy_vs_drift(times: Sequence[float], accuracies: Sequence[float], path: Path) -> None:
    """Test accuracy read at times after programming (s), log time axis."""
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    ax.semilogx(times, accuracies, "-o")
    ax.set(xlabel="time after programming (s)", ylabel="test accuracy", title="Accuracy vs drift time")
    ax.grid(alpha=0.3, which="both")
    _save(fig, path)


def pareto_front(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mask of points no other point beats (lower ``x`` and higher ``y``, at least one strictly)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.ones(len(x), dtype=bool)
    for i in range(len(x)):
        dominated = (x <= x[i]) & (y >= y[i]) & ((x < x[i]) | (y > y[i]))
        keep[i] = not dominated.any()
    return keep


def tradeoff(x: np.ndarray, y: np.ndarray, labels: Sequence[str], path: Path, xlabel: str, ylabel: str,
             title: str) -> None:
    """Scatter of ``y`` vs ``x`` with the Pareto front (low x, high y) highlighted and labelled."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.scatter(x[ok], y[ok], c="0.6", s=18, label="trials")
    if ok.any():
        front = np.zeros(len(x), dtype=bool)
        front[ok] = pareto_front(x[ok], y[ok])
        order = np.argsort(x[front])
        ax.plot(x[front][order], y[front][order], "-o", color="C3", ms=6, label="Pareto front")
        for xi, yi, lab in zip(x[front], y[front], np.asarray(labels, dtype=object)[front]):
            ax.annotate(lab, (xi, yi), fontsize=7, xytext=(4, -8), textcoords="offset points")
        if (x[ok] > 0).all() and x[ok].max() > 10 * x[ok].min():
            ax.set_xscale("log")
    ax.margins(x=0.25, y=0.08)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="lower right")
    _save(fig, path)


def markdown_table(rows: list[dict], columns: Sequence[str] | None = None) -> str:
    """A GitHub-flavoured markdown table (floats to 4 significant digits)."""
    if not rows:
        return "(no rows)\n"
    columns = list(columns or rows[0].keys())
    fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else ("" if v is None else str(v))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(r.get(c)).replace("|", "/") for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def write_table(rows: list[dict], path: Path, columns: Sequence[str] | None = None) -> None:
    atomic_write_text(path, markdown_table(rows, columns))
