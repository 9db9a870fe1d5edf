"""The ``programming`` kind: write-verify vs the learned programmer on whole arrays of each preset
(pulses, iterations, final error, converged fraction) and the accuracy of a network programmed each way."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from memlearn.crossbar.crossbar import Crossbar
from memlearn.crossbar.programming import WriteVerify
from memlearn.devices.presets import get_preset
from memlearn.experiments import registry
from memlearn.experiments.kinds.continual import bar_chart, markdown_table
from memlearn.experiments.health import chance_problem, check_runaway, verdict
from memlearn.experiments.schema import validate
from memlearn.experiments.stages import Stages
from memlearn.experiments.storage import log_timing
from memlearn.experiments.training import build_mlp, evaluate, train_epoch
from memlearn.meta import ProgrammerTraining, deploy, train_programmer
from memlearn.nn.tile_config import TileConfig

_COLUMNS = ("device", "method", "pulses", "iterations", "converged", "rms_error_rel", "network_accuracy", "network_pulses")


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
    network_hidden: int = 32
    """Hidden width of the float MLP trained on the data and then programmed onto the chip (>= 1)."""
    network_epochs: int = 10
    """Float training epochs of that MLP (>= 1)."""

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
    text = (f"Array {cfg.rows}x{cfg.cols}, random targets, tolerance {cfg.tolerance} of the range; "
            f"network: float MLP {sizes} at {float_acc:.3f} test accuracy, programmed each way\n\n")
    (run_dir / "table_programming.md").write_text(text + markdown_table(rows, _COLUMNS))
    (run_dir / "table_programming.csv").write_text(",".join(_COLUMNS) + "\n" +
                                                   "\n".join(",".join(str(r[c]) for c in _COLUMNS) for r in rows) + "\n")
    pairs = [{"device": w["device"], "write_verify": w["pulses"] / cfg.rows / cfg.cols,
              "learned": l["pulses"] / cfg.rows / cfg.cols} for w, l in zip(rows[::2], rows[1::2])]
    bar_chart(pairs, lambda r: r["device"], ("write_verify", "learned"), run_dir / "fig_programming_pulses.png",
              "pulses per device", f"programming a {cfg.rows}x{cfg.cols} array to tolerance {cfg.tolerance}")
    chance, n_test = 1.0 / data.n_classes, len(data.y_test)
    best = max((r["network_accuracy"] for r in rows), default=None)
    health = verdict([
        chance_problem(float_acc, chance, n_test, "float network accuracy", "the network did not learn: check the data"),
        chance_problem(best, chance, n_test, "best programmed network accuracy",
                       "no programmed chip works: check programming.tolerance and the devices"),
    ])
    return {"float_accuracy": float_acc, "results": rows, **health}


def _device_rows(cfg: ProgrammingConfig, training, net, sizes, data, name: str, step: int, seed: int,
                 log: Callable[[dict], None]) -> list[dict]:
    """One device: train the learned programmer, then program an array and the network both ways."""
    device = get_preset(name)
    t0 = time.perf_counter()
    learned = train_programmer(device, training, torch.Generator().manual_seed(seed),
                               max_iterations=cfg.max_iterations)
    log_timing(log, {"step": step, "device": name, "programmer_train_s": time.perf_counter() - t0})
    wv = WriteVerify(tolerance=cfg.tolerance, max_iterations=cfg.max_iterations, max_pulses=cfg.max_pulses)
    rows = []
    for method, prog in (("write_verify", wv), ("learned", learned)):
        cb = Crossbar(cfg.rows, cfg.cols, device, torch.Generator().manual_seed(seed + 1))
        st = cb.state
        target = st.g_min + torch.rand(cfg.rows, cfg.cols, generator=torch.Generator().manual_seed(seed + 2)) * (
            st.g_max - st.g_min)
        res = prog.program(cb, target, torch.Generator().manual_seed(seed + 3))
        chip = build_mlp(sizes, "tanh", TileConfig(device=device, programmer=prog), seed=seed)
        deploy(net, chip, program=True)
        row = {"device": name, "method": method, "pulses": int(res.pulses), "iterations": int(res.iterations),
               "converged": float(res.converged),
               "rms_error_rel": float(res.weight_error) / float(device.response.g_max - device.response.g_min),
               "network_accuracy": evaluate(chip, data.x_test, data.y_test),
               "network_pulses": int(sum(int(m.n_writes.sum()) for m in chip.modules() if isinstance(m, Crossbar)))}
        rows.append(row)
        log({"step": step, **row})
    return rows
