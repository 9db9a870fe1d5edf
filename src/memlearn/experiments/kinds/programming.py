"""The ``programming`` kind: write-verify vs the learned programmer (alone, one shot; and followed by
verification) on whole arrays of each preset: verify reads, pulse rounds, pulses, simulated time and
energy, final error, converged fraction, one-shot fractions (+-50% / +-10% of target after the first
round), and the accuracy of a network programmed each way."""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from memlearn.crossbar.crossbar import Crossbar
from memlearn.crossbar.programming import ResetThenSet, WriteVerify, program_verify
from memlearn.devices.device import Device
from memlearn.devices.presets import get_preset
from memlearn.experiments import registry
from memlearn.experiments.kinds.continual import bar_chart, markdown_table
from memlearn.experiments.health import chance_problem, check_runaway, verdict
from memlearn.experiments.schema import validate
from memlearn.experiments.stages import Stages
from memlearn.experiments.storage import log_timing
from memlearn.experiments.training import build_mlp, evaluate, train_epoch
from memlearn.meta import ProgrammerTraining, deploy, train_programmer
from memlearn.meta.learned_programmer import LikeliestChoice
from memlearn.nn.tile_config import TileConfig

_COLUMNS = ("device", "method", "reads", "verify_rounds", "iterations", "pulses", "time_us", "energy_nj", "converged", "rms_error_rel",
            "one_shot_50", "one_shot_10", "network_accuracy", "network_pulses")
RESET_THEN_SET = ("PCM",)
"""Presets whose rows add the reset-then-set scheme (abrupt RESET)."""


@dataclass(frozen=True, kw_only=True)
class ProgrammingConfig:
    """``[programming]``: which presets, array size, tolerance, and the network programmed each way."""

    devices: list[str] = field(default_factory=lambda: ["ReRAM_SB", "TaOx_HfOx", "EpiRAM", "PCM"])
    """Device presets to compare on."""
    rows: int = 64
    """Array rows (1..4096)."""
    cols: int = 64
    """Array columns (1..4096)."""
    tolerance: float = 0.01
    """Shared tolerance, relative to the device range (0 < tol <= 1)."""
    max_iterations: int = 50
    """Shot limit of both programmers (1..10000)."""
    max_pulses: int = 64
    """Per-shot pulse cap of both programmers (1..4096)."""
    done_fraction: float = 1.0
    """Every programmer stops once this fraction of the free devices verifies within tolerance (0..1]."""
    oracle: bool = False
    """Add the model-based optimum the network imitates (``LikeliestChoice``, exact, with each device's
    own parameters) as a reference row ``oracle_then_verify`` (no network accuracy)."""
    network_hidden: int = 32
    """Hidden width of the float MLP trained on the data and then programmed onto the chip (>= 1)."""
    network_epochs: int = 10
    """Float training epochs of that MLP (>= 1)."""
    variation: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per preset, pulse-response fields to override, e.g. ``{TaOx_HfOx = {d2d_step = 0.1}}`` to add
    device-to-device spread to a preset published without it."""

    def __post_init__(self) -> None:
        for i, name in enumerate(self.devices):
            try:
                get_preset(name)
            except ValueError as exc:
                raise ValueError(f"programming.devices[{i}]: {exc}") from None
        if not (1 <= self.rows <= 4096 and 1 <= self.cols <= 4096):
            raise ValueError(f"programming.rows/cols = {self.rows}x{self.cols} must be within 1..4096")
        if not 0 < self.tolerance <= 1:
            raise ValueError(f"programming.tolerance={self.tolerance!r} must be in (0, 1]")
        if not 0 < self.done_fraction <= 1:
            raise ValueError(f"programming.done_fraction={self.done_fraction!r} must be in (0, 1]")
        for name in self.variation:
            if name not in self.devices:
                raise ValueError(f"programming.variation.{name}: not one of programming.devices {self.devices}")
            self.device(name)

    def device(self, name: str) -> Device:
        """The preset ``name`` with this config's response overrides."""
        device = get_preset(name)
        if name not in self.variation:
            return device
        try:
            return dataclasses.replace(device, response=dataclasses.replace(device.response, **self.variation[name]))
        except TypeError as exc:
            raise ValueError(f"programming.variation.{name}: {exc}; fields of {type(device.response).__name__}: "
                             f"{', '.join(f.name for f in dataclasses.fields(device.response))}") from None


def _row(name: str, method: str, res, device: Device, accuracy: float, network_pulses: int) -> dict:
    """One table row; ``verify_rounds`` are the reads that follow a pulse round (all but the first)."""
    return {"device": name, "method": method, "reads": res.reads, "verify_rounds": res.reads - 1,
            "iterations": res.iterations, "pulses": res.pulses, "time_us": 1e6 * res.time, "energy_nj": 1e9 * res.energy,
            "write_time_us": 1e6 * res.write_time, "read_time_us": 1e6 * res.read_time,
            "write_energy_nj": 1e9 * res.write_energy, "read_energy_nj": 1e9 * res.read_energy,
            "converged": res.converged,
            "rms_error_rel": res.weight_error / float(device.response.g_max - device.response.g_min),
            "one_shot_50": res.one_shot_50, "one_shot_10": res.one_shot_10,
            "network_accuracy": accuracy, "network_pulses": network_pulses}


def run(config: dict, run_dir: Path, log: Callable[[dict], None], seed: int) -> dict:
    cfg = validate(ProgrammingConfig, config.get("programming", {}), "programming")
    training = validate(ProgrammerTraining, {"tolerance": cfg.tolerance, "max_pulses": cfg.max_pulses,
                                             **config.get("programmer_training", {})},
                        "programmer_training")
    data = registry.load_data(config.get("data", {"name": "digits"}))
    sizes = (data.n_features, cfg.network_hidden, data.n_classes)
    net = build_mlp(sizes, "tanh", None, seed=seed, analog=False)
    stages = Stages(run_dir, log, "programming", config)

    def train_network() -> dict:
        opt = torch.optim.SGD(net.parameters(), lr=0.1)
        for epoch in range(cfg.network_epochs):
            stats = train_epoch(net, opt, data.x_train, data.y_train, 16, torch.Generator().manual_seed(seed))
            check_runaway(stats["loss"], math.log(data.n_classes), "float network loss", f"epoch {epoch + 1}",
                          "check the data")
        return {"float_accuracy": evaluate(net, data.x_test, data.y_test)}

    float_acc = stages.run("network", train_network, lambda: {"net": net.state_dict()})["float_accuracy"]
    net.load_state_dict(stages.state["net"])  # the trained network, also when its stage was skipped
    rows = []
    for step, name in enumerate(cfg.devices):
        rows += stages.run(f"device-{step}", lambda step=step, name=name: _device_rows(
            cfg, training, net, sizes, data, name, step, seed, log), lambda: {"net": net.state_dict()})
    text = (f"Array {cfg.rows}x{cfg.cols}, random targets, tolerance {cfg.tolerance} of the range, done at "
            f"{cfg.done_fraction:.0%} of the devices within it, at most {cfg.max_pulses} pulses per round; "
            f"network: float MLP {sizes} at {float_acc:.3f} test accuracy, programmed each way\n\n")
    (run_dir / "table_programming.md").write_text(text + markdown_table(rows, _COLUMNS))
    (run_dir / "table_programming.csv").write_text(",".join(_COLUMNS) + "\n" +
                                                   "\n".join(",".join(str(r[c]) for c in _COLUMNS) for r in rows) + "\n")
    by = {(r["device"], r["method"]): r for r in rows}
    pairs = [{"device": name, "write_verify": by[(name, "write_verify")]["reads"],
              "learned_then_verify": by[(name, "learned_then_verify")]["reads"]} for name in cfg.devices]
    bar_chart(pairs, lambda r: r["device"], ("write_verify", "learned_then_verify"), run_dir / "fig_programming_reads.png",
              "verify reads", f"programming a {cfg.rows}x{cfg.cols} array to tolerance {cfg.tolerance}")
    chance, n_test = 1.0 / data.n_classes, len(data.y_test)
    best = max((r["network_accuracy"] for r in rows if not math.isnan(r["network_accuracy"])), default=None)
    health = verdict([
        chance_problem(float_acc, chance, n_test, "float network accuracy", "the network did not learn: check the data"),
        chance_problem(best, chance, n_test, "best programmed network accuracy",
                       "no programmed chip works: check programming.tolerance and the devices"),
    ])
    return {"float_accuracy": float_acc, "results": rows, **health}


def _device_rows(cfg: ProgrammingConfig, training, net, sizes, data, name: str, step: int, seed: int,
                 log: Callable[[dict], None]) -> list[dict]:
    """One device: train the learned programmer, then program an array and the network each way."""
    device = cfg.device(name)
    t0 = time.perf_counter()
    learned = train_programmer(device, training, torch.Generator().manual_seed(seed),
                               max_iterations=cfg.max_iterations)
    log_timing(log, {"step": step, "device": name, "programmer_train_s": time.perf_counter() - t0})
    common = dict(tolerance=cfg.tolerance, max_iterations=cfg.max_iterations, max_pulses=cfg.max_pulses,
                  done_fraction=cfg.done_fraction)
    learned = dataclasses.replace(learned, done_fraction=cfg.done_fraction)
    methods = [("write_verify", WriteVerify(**common)),
               ("learned_one_shot", dataclasses.replace(learned, max_iterations=1)),
               ("learned_then_verify", learned)]
    if cfg.oracle:
        methods.append(("oracle_then_verify", None))
    if name in RESET_THEN_SET:
        methods.append(("reset_then_set", WriteVerify(**common, choice=ResetThenSet(max_pulses=cfg.max_pulses))))
    rows = []
    for method, prog in methods:
        cb = Crossbar(cfg.rows, cfg.cols, device, torch.Generator().manual_seed(seed + 1))
        st = cb.state
        target = st.g_min + torch.rand(cfg.rows, cfg.cols, generator=torch.Generator().manual_seed(seed + 2)) * (
            st.g_max - st.g_min)
        if prog is None:  # the oracle: the exact model-based choice, no network row
            res = program_verify(cb, target, torch.Generator().manual_seed(seed + 3),
                                 LikeliestChoice(cfg.tolerance, cfg.max_pulses), tolerance=cfg.tolerance,
                                 max_iterations=cfg.max_iterations, max_pulses=cfg.max_pulses,
                                 noisy_verify=True, done_fraction=cfg.done_fraction)
            rows.append(_row(name, method, res, device, float("nan"), 0))
        else:
            res = prog.program(cb, target, torch.Generator().manual_seed(seed + 3))
            chip = build_mlp(sizes, "tanh", TileConfig(device=device, programmer=prog), seed=seed)
            deploy(net, chip, program=True)
            rows.append(_row(name, method, res, device, evaluate(chip, data.x_test, data.y_test),
                             int(sum(int(m.n_writes.sum()) for m in chip.modules() if isinstance(m, Crossbar)))))
        log({"step": step, **rows[-1]})
    return rows
