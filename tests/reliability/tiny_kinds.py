"""Tiny configs of the six experiment kinds on digits (a few seconds each), shared by the
reliability tests and ``benchmarks/chaos.py``. ``MARGIN`` is how far above chance each must learn."""

from __future__ import annotations

from pathlib import Path

CONFIGS: dict[str, str] = {
    "train": """
kind = "train"
[data]
name = "digits"
n_train = 240
n_test = 120
[model]
hidden = [12]
[device]
preset = "ReRAM_SB"
[learning]
rule = "stochastic"
lr = 0.1
[train]
epochs = 2
batch_size = 16
log_every = 4
figures = false
""",
    "eqprop": """
kind = "eqprop"
[data]
name = "digits"
n_train = 240
n_test = 120
[model]
hidden = [16]
[device]
preset = "ideal"
[learning]
rule = "deterministic"
lr = 0.3
[eqprop]
free_steps = 10
nudged_steps = 4
[train]
epochs = 2
batch_size = 10
""",
    "hardware_aware": """
kind = "hardware_aware"
[data]
name = "digits"
n_train = 300
n_test = 120
[model]
hidden = [16]
[device]
preset = "ReRAM_SB"
[train]
epochs = 2
lr = 0.01
[deploy]
n_chips = 2
[eval]
times = [1.0, 86400.0]
""",
    "continual": """
kind = "continual"
[data]
name = "digits"
n_train = 300
n_test = 150
[model]
hidden = [16]
[device]
preset = "ideal"
[learning]
rule = "deterministic"
[continual]
stream = "permuted"
n_tasks = 2
strategies = ["naive", "ewc"]
[train]
epochs = 2
batch_size = 32
lr = 0.1
""",
    "meta": """
kind = "meta"
[data]
name = "digits"
[model]
hidden = [8]
[learning]
rule = "deterministic"
[meta]
k_shots = [1, 5]
n_episodes = 4
devices = ["ideal"]
n_query = 8
[meta_train]
meta_steps = 6
meta_batch = 1
inner_steps = 1
[adaptation]
steps = 10
""",
    "programming": """
kind = "programming"
[data]
name = "digits"
n_train = 300
n_test = 120
[programming]
devices = ["EpiRAM", "ReRAM_SB"]
rows = 8
cols = 8
network_hidden = 8
network_epochs = 3
[programmer_training]
n_samples = 256
steps = 20
""",
}

KINDS = tuple(CONFIGS)

MARGIN = 0.15
"""Every tiny config must reach at least chance + MARGIN (chance = 1 / classes of the task)."""


def write_config(folder: Path, kind: str, name: str | None = None, seed: int = 0) -> Path:
    """Write the tiny config of ``kind`` as ``<folder>/<name>.toml`` and return its path."""
    name = name or f"tiny-{kind}"
    path = Path(folder) / f"{name}.toml"
    path.write_text(f'name = "{name}"\nseed = {seed}\n' + CONFIGS[kind])
    return path


def learned_accuracy(kind: str, summary: dict) -> tuple[float, float]:
    """(the accuracy that shows learning, its chance level) of a tiny run's summary."""
    if kind in ("train", "eqprop"):
        return summary["test_accuracy"], 0.1
    if kind == "hardware_aware":
        return summary["hardware_aware_test_accuracy"], 0.1
    if kind == "continual":
        return max(s["average_accuracy"] for s in summary["strategies"].values()), 0.1
    if kind == "meta":
        return max(r["float_meta"] for r in summary["results"]), 1.0 / 5
    return max(r["network_accuracy"] for r in summary["results"]), 0.1
