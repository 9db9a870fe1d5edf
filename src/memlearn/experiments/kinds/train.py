"""The ``train`` kind: an MLP trained on the chip (pulsed updates) next to its float baseline.

Every epoch appends a record to ``metrics.jsonl`` and replaces ``checkpoint.pt`` (model with
device states and tile generators, optimizer and rule state, data-order generators, history,
metrics offset). Started again on a folder holding a checkpoint, the run continues from it and
ends bit-identical to an uninterrupted run.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from memlearn.crossbar.cost import model_cost
from memlearn.crossbar.crossbar import Crossbar
from memlearn.experiments import clipping, registry
from memlearn.experiments import data as data_files
from memlearn.experiments.health import chance_problem, check_devices, check_runaway, verdict
from memlearn.experiments.progress import TensorBoardLog
from memlearn.experiments.kinds.train_config import SECTIONS, EvalConfig, LearningConfig, ModelConfig, TrainConfig
from memlearn.experiments.schema import ConfigError, validate
from memlearn.experiments.storage import CorruptFileError, JsonLines, load_checkpoint, save_checkpoint
from memlearn.experiments.training import build_mlp, evaluate, train_epoch
from memlearn.nn.tile import AnalogTile
from memlearn.rules.analog_sgd import AnalogSGD

CHECKPOINT = "checkpoint.pt"


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Configs:
    model: ModelConfig
    learning: LearningConfig
    rule: Any
    train: TrainConfig
    eval: EvalConfig


def parse(config: dict) -> _Configs:
    """Validate the train kind's own tables (the registry validates data/device/crossbar/rule)."""
    unknown = sorted(k for k, v in config.items() if isinstance(v, dict) and k not in SECTIONS)
    if unknown:
        raise ConfigError(f"unknown table [{unknown[0]}] for kind 'train'; allowed tables: {', '.join(SECTIONS)}")
    learning = dict(config.get("learning", {}))
    own = {"lr": learning["lr"]} if "lr" in learning else {}
    return _Configs(model=validate(ModelConfig, config.get("model", {}), "model"),
                    learning=validate(LearningConfig, own, "learning"), rule=registry.build_rule(learning),
                    train=validate(TrainConfig, config.get("train", {}), "train"),
                    eval=validate(EvalConfig, config.get("eval", {}), "eval"))


def pulses(model: nn.Module) -> int:
    """Write pulses applied so far to every crossbar of ``model``."""
    return int(sum(int(m.n_writes.sum()) for m in model.modules() if isinstance(m, Crossbar)))


def energy(model: nn.Module) -> float:
    """Energy spent so far by every tile (J), from the tiles' cost accounting."""
    return float(model_cost(model).energy)


def _tiles(model: nn.Module) -> dict[str, AnalogTile]:
    return {name: m for name, m in model.named_modules() if isinstance(m, AnalogTile)}


def _conductances(model: nn.Module) -> dict[str, np.ndarray]:
    return {name: t.array.g.detach().cpu().numpy().copy() for name, t in _tiles(model).items()}


def _check_finite(data) -> None:
    """NaN/inf in the inputs is a data error, reported before any training (not a NaN loss later)."""
    for name in ("x_train", "x_test"):
        x = getattr(data, name)
        bad = ~torch.isfinite(x)
        if bool(bad.any()):
            first = int(bad.reshape(len(x), -1).any(dim=1).nonzero()[0])
            raise ConfigError(f"[data] {name} holds {int(bad.sum())} NaN/inf values (first in sample {first}); "
                              "clean the data set")


def run(config: dict, run_dir: Path, log: Callable[[dict], None], seed: int) -> dict:
    """Train, checkpoint every epoch, evaluate, write figures; return the summary."""
    cfg = parse(config)
    dev = torch.device(cfg.train.torch_device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("[train.torch_device] = 'cuda' but this torch build sees no CUDA device; use \"cpu\"")
    board = None
    if cfg.train.tensorboard:
        try:
            board = TensorBoardLog.open(Path(run_dir) / "tensorboard")
        except ImportError as exc:  # tensorboard is an optional dependency, not in pyproject's list
            raise ConfigError(f"[train.tensorboard] {exc}") from None
    emit = log if board is None else (lambda record: (log(record), board(record)))
    data = registry.load_data(config.get("data", {}))
    _check_finite(data)
    try:
        data_files.persist(data, run_dir)
    except data_files.DataFileError as exc:
        raise ConfigError(f"[data] {exc}") from None
    tile_config = registry.build_tile_config(config)
    rule = cfg.rule
    x_tr, y_tr, x_te, y_te = (t.to(dev) for t in (data.x_train, data.y_train, data.x_test, data.y_test))
    sizes = [data.n_features, *cfg.model.hidden, data.n_classes]

    model = build_mlp(sizes, cfg.model.activation, tile_config, seed, analog=True, device=dev)
    opt = AnalogSGD(model, cfg.learning.lr, rule)
    order = torch.Generator().manual_seed(seed)
    twin = twin_opt = twin_order = None
    if cfg.train.float_baseline:
        twin = build_mlp(sizes, cfg.model.activation, None, seed, analog=False, device=dev)
        twin_opt = torch.optim.SGD(twin.parameters(), lr=cfg.train.float_lr or cfg.learning.lr)
        twin_order = torch.Generator().manual_seed(seed)

    ckpt_path = Path(run_dir) / CHECKPOINT
    start_epoch, history, g_before, step = 0, [], _conductances(model), 0
    if ckpt_path.exists():
        ck = load_checkpoint(ckpt_path)
        try:
            model.load_state_dict(ck["model"])
            opt.load_state_dict(ck["optimizer"])
            if ck.get("rule_states") is not None:
                opt.rule_states = ck["rule_states"]
            order.set_state(ck["order_generator"])
            if twin is not None:
                twin.load_state_dict(ck["float_model"])
                twin_opt.load_state_dict(ck["float_optimizer"])
                twin_order.set_state(ck["float_generator"])
            torch.set_rng_state(ck["torch_rng"])
            start_epoch, history, step = ck["epoch"], ck["history"], ck["step"]
            g_before = {k: v.numpy() for k, v in ck["g_before"].items()}
            offset, digest = ck["metrics_offset"], ck.get("metrics_sha256")
        except (KeyError, RuntimeError, TypeError, ValueError, AttributeError) as exc:
            raise CorruptFileError(f"checkpoint {ckpt_path} does not match this run's config and model "
                                   f"({type(exc).__name__}: {str(exc).splitlines()[0][:300]}); left untouched: "
                                   f"delete it to restart the run from scratch") from None
        if isinstance(log, JsonLines):
            log.verify(offset, digest, ckpt_path)
            log.truncate(offset)
    elif isinstance(log, JsonLines):
        log.truncate(0)  # killed before the first checkpoint: every record is written again
    chance_loss = math.log(data.n_classes)

    def checkpoint(epoch: int) -> None:
        save_checkpoint(ckpt_path, {
            "epoch": epoch, "step": step, "model": model.state_dict(), "optimizer": opt.state_dict(),
            "rule_states": opt.rule_states, "order_generator": order.get_state(),
            "float_model": twin.state_dict() if twin is not None else None,
            "float_optimizer": twin_opt.state_dict() if twin_opt is not None else None,
            "float_generator": twin_order.get_state() if twin_order is not None else None,
            "torch_rng": torch.get_rng_state(), "history": history, "g_before": g_before,
            "metrics_offset": log.size() if isinstance(log, JsonLines) else 0,
            "metrics_sha256": log.digest(log.size()) if isinstance(log, JsonLines) else None,
        })

    if not ckpt_path.exists():
        checkpoint(0)
    range_warnings = clipping.warnings_for(clipping.measure(model, x_tr))
    if range_warnings and config.get("data", {}).get("strict_range", False):
        raise ConfigError("[data.strict_range] inputs exceed the chip's input range: " + "; ".join(range_warnings))
    for w in range_warnings:
        warnings.warn(w, clipping.InputRangeWarning, stacklevel=2)
    n_batches = -(-len(y_tr) // cfg.train.batch_size)
    for epoch in range(start_epoch + 1, cfg.train.epochs + 1):
        def on_batch(rec: dict, epoch: int = epoch) -> None:
            nonlocal step
            step += 1
            check_runaway(rec["loss"], chance_loss, "training loss", f"epoch {epoch}, batch {rec['step'] + 1}",
                          "lower learning.lr (or use a device with more states)", model)
            if (rec["step"] + 1) % cfg.train.log_every == 0 or rec["step"] + 1 == n_batches:
                emit({"step": step, "epoch": epoch, "batch": rec["step"] + 1, "n_batches": n_batches,
                     "n_epochs": cfg.train.epochs, "loss": rec["loss"], "pulses": pulses(model), "energy": energy(model)})

        spent = energy(model)
        stats = train_epoch(model, opt, x_tr, y_tr, cfg.train.batch_size, order, on_batch)
        spent = energy(model) - spent
        check_devices(model, f"end of epoch {epoch}", cfg.train.max_saturation)
        record: dict[str, Any] = {"epoch": epoch, "n_epochs": cfg.train.epochs, "train_loss": stats["loss"],
                                  "train_accuracy": stats["accuracy"], "test_accuracy": evaluate(model, x_te, y_te),
                                  "pulses": pulses(model), "energy": energy(model), "train_energy": spent}
        if twin is not None:
            fstats = train_epoch(twin, twin_opt, x_tr, y_tr, cfg.train.batch_size, twin_order)
            check_runaway(fstats["loss"], chance_loss, "float baseline loss", f"epoch {epoch}",
                          "lower train.float_lr (or learning.lr, which it defaults to)")
            record.update(float_train_loss=fstats["loss"], float_test_accuracy=evaluate(twin, x_te, y_te))
        history.append(record)
        emit(record)
        checkpoint(epoch)

    final = history[-1] if history else {}
    drift = []
    for t in cfg.eval.drift_times:
        for tile in _tiles(model).values():
            tile.set_read_time(float(t))
        drift.append({"time": float(t), "test_accuracy": evaluate(model, x_te, y_te)})
        log({"epoch": cfg.train.epochs, "drift_time": float(t), "drift_test_accuracy": drift[-1]["test_accuracy"]})
    for tile in _tiles(model).values():
        tile.set_read_time(None)
    if board is not None:
        board.close()

    run_dir = Path(run_dir)
    writes = {name: t.array.n_writes.cpu().numpy() for name, t in _tiles(model).items()}
    if cfg.train.figures:
        _write_figures(run_dir, history, g_before, _conductances(model), writes, drift,
                       tile_config.device.drift is not None)
    n_devices = sum(int(t.array.g.numel()) for t in _tiles(model).values())
    clipped = clipping.measure(model, x_te)
    saturated = clipping.saturation_status(clipped)
    chance, n_test = 1.0 / data.n_classes, len(y_te)
    health = verdict([  # a saturating ADC first: it is the cause when the chip then sits at chance
        {"status": saturated[0], "reason": saturated[1]} if saturated else None,
        chance_problem(final.get("test_accuracy"), chance, n_test, "final test accuracy on the chip",
                       "the chip did not learn: check learning.lr, the device and the crossbar's DAC/ADC ranges"),
        chance_problem(final.get("float_test_accuracy"), chance, n_test, "final float baseline accuracy",
                       "the float twin did not learn: check the data and train.float_lr")
        if twin is not None else None,
    ])
    spent = [h.get("train_energy") for h in history]
    return {
        "test_accuracy": final.get("test_accuracy"),
        "float_test_accuracy": final.get("float_test_accuracy"),
        "train_loss": final.get("train_loss"),
        "epochs": cfg.train.epochs,
        "pulses": pulses(model),
        "energy": energy(model),
        "n_devices": n_devices,
        "max_pulses_per_device": int(max((int(w.max()) for w in writes.values()), default=0)),
        "layers": sizes,
        "drift": drift,
        **health,
        "clipping": [c.to_dict() for c in clipped],
        "energy_per_train_sample": (sum(spent) / (len(spent) * len(y_tr)) if spent and None not in spent else None),
        "energy_per_inference": _inference_energy(model, x_te),
        "worn_out_devices": _worn_out(model),
        "drift_model": tile_config.device.drift is not None,
        "warnings": range_warnings,
    }


def _inference_energy(model: nn.Module, x: torch.Tensor) -> float | None:
    """Energy (J) of one inference, from a forward pass of ``x`` through a copy of the model."""
    import copy

    twin = copy.deepcopy(model)
    before = energy(twin)
    if len(x) == 0:
        return None
    evaluate(twin, x, torch.zeros(len(x), dtype=torch.int64, device=x.device))
    return (energy(twin) - before) / len(x)


def _worn_out(model: nn.Module) -> int:
    """Devices whose cumulative write pulses exceed their endurance budget."""
    return sum(int((t.array.n_writes.to(t.array.state.endurance.dtype) > t.array.state.endurance).sum())
               for t in _tiles(model).values())


def _write_figures(run_dir: Path, history: list[dict], g_before: dict, g_after: dict, writes: dict,
                   drift: list[dict], drift_model: bool) -> None:
    from memlearn.experiments import figures  # matplotlib is imported only when figures are drawn

    figures.learning_curves(history, run_dir / "fig_learning_curves.png")
    figures.conductance_histograms(g_before, g_after, run_dir / "fig_conductances.png")
    figures.pulses_per_device(writes, run_dir / "fig_pulses_per_device.png")
    if drift and drift_model:
        figures.accuracy_vs_drift([d["time"] for d in drift], [d["test_accuracy"] for d in drift],
                                  run_dir / "fig_accuracy_vs_drift.png")
    for stale in ("table_drift.md", "table_epochs.md"):  # the report renders these from summary and metrics
        (run_dir / stale).unlink(missing_ok=True)
