"""The ``meta`` kind: meta-train off-chip (FOMAML or Reptile, noise in the loop), deploy to the chip,
adapt on-chip from K examples per class; N-way K-shot accuracy vs random init and float adaptation."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal

import torch

from memlearn.devices.presets import get_preset
from memlearn.experiments import registry
from memlearn.experiments.kinds.continual import bar_chart, markdown_table
from memlearn.experiments.kinds.train_config import ModelConfig
from memlearn.experiments.health import chance_problem, check_value, verdict
from memlearn.experiments.schema import validate
from memlearn.experiments.stages import Stages
from memlearn.experiments.training import build_mlp
from memlearn.meta import Adaptation, EpisodeSampler, MetaTraining, deploy, evaluate_float, evaluate_on_chip, meta_train
from memlearn.nn.tile_config import TileConfig

_COLUMNS = ("device", "k_shot", "chip_meta", "chip_random", "float_meta", "float_random", "pulses_per_episode")


@dataclass(frozen=True, kw_only=True)
class FewShotConfig:
    """``[meta]``: episode shapes and what is compared."""

    n_way: int = 5
    """Classes per episode (>= 2)."""
    k_shots: list[int] = field(default_factory=lambda: [1, 5])
    """Support examples per class to report (each >= 1)."""
    n_query: int = 10
    """Query examples per class (>= 1)."""
    n_episodes: int = 50
    """Meta-test episodes per setting (>= 1)."""
    split: Literal["images", "classes"] = "images"
    """``images``: meta-train on the training images, meta-test on the test images (all classes, new
    label assignments); ``classes``: meta-test on ``test_classes`` only, never seen in meta-training."""
    test_classes: list[int] = field(default_factory=list)
    """Held-out classes for ``split = "classes"`` (at least n_way); empty: the last ``n_test_classes``."""
    n_test_classes: int = 20
    """``split = "classes"`` with no ``test_classes``: hold out this many of the highest class ids (>= n_way)."""
    devices: list[str] = field(default_factory=lambda: ["ideal", "ReRAM_SB"])
    """Device presets the adaptation runs on (the [device] table is ignored by this kind)."""

    def __post_init__(self) -> None:
        if not 2 <= self.n_way <= 1000:
            raise ValueError(f"meta.n_way={self.n_way!r} must be in [2, 1000]")
        if not self.k_shots or min(self.k_shots) < 1:
            raise ValueError(f"meta.k_shots={self.k_shots!r} must list counts >= 1")
        if self.n_query < 1 or self.n_episodes < 1:
            raise ValueError("meta.n_query and meta.n_episodes must be >= 1")
        for i, name in enumerate(self.devices):
            try:
                get_preset(name)
            except ValueError as exc:
                raise ValueError(f"meta.devices[{i}]: {exc}") from None


def _samplers(cfg: FewShotConfig, data, k: int) -> tuple[EpisodeSampler, EpisodeSampler]:
    classes = list(range(data.n_classes))
    if cfg.split == "images":
        return (EpisodeSampler(data.x_train, data.y_train, classes, cfg.n_way, k, cfg.n_query),
                EpisodeSampler(data.x_test, data.y_test, classes, cfg.n_way, k, cfg.n_query))
    held = sorted(set(cfg.test_classes)) or classes[-cfg.n_test_classes:]
    if len(held) < cfg.n_way or len(held) >= len(classes):
        raise ValueError(f"meta: {len(held)} held-out classes; need at least n_way={cfg.n_way} and fewer than all {len(classes)}")
    train = [c for c in classes if c not in held]
    x, y = torch.cat([data.x_train, data.x_test]), torch.cat([data.y_train, data.y_test])
    return (EpisodeSampler(x, y, train, cfg.n_way, k, cfg.n_query), EpisodeSampler(x, y, held, cfg.n_way, k, cfg.n_query))


def run(config: dict, run_dir: Path, log: Callable[[dict], None], seed: int) -> dict:
    cfg = validate(FewShotConfig, config.get("meta", {}), "meta")
    mt = validate(MetaTraining, config.get("meta_train", {}), "meta_train")
    ad = validate(Adaptation, config.get("adaptation", {"adapt": mt.adapt}), "adaptation")
    model_cfg = validate(ModelConfig, config.get("model", {}), "model")
    data = registry.load_data(config.get("data", {"name": "digits"}))
    rule = registry.build_rule(config.get("learning", {"rule": "deterministic"}))
    sizes = [data.n_features, *model_cfg.hidden, cfg.n_way]
    stages = Stages(run_dir, log, "meta", config)

    def k_stage(k: int) -> list[dict]:
        train, test = _samplers(cfg, data, k)
        meta = build_mlp(sizes, model_cfg.activation, None, seed=seed, analog=False)

        def on_step(r: dict, k: int = k) -> None:
            check_value(float(r.get("loss", 0.0)), "meta-training loss", f"meta step {r['step']} ({k}-shot)",
                        "lower the meta_train learning rates")
            if r["step"] % 20 == 0:
                log({**r, "k_shot": k})

        meta_train(meta, train, mt, torch.Generator().manual_seed(seed), on_step=on_step)
        rand = build_mlp(sizes, model_cfg.activation, None, seed=seed, analog=False)
        ep_seed = seed + 1000 + k
        f_meta = evaluate_float(meta, test, ad, cfg.n_episodes, torch.Generator().manual_seed(ep_seed))
        f_rand = evaluate_float(rand, test, ad, cfg.n_episodes, torch.Generator().manual_seed(ep_seed))
        out = []
        for name in cfg.devices:
            tc = TileConfig(device=get_preset(name))
            chip = build_mlp(sizes, model_cfg.activation, tc, seed=seed)
            deploy(meta, chip, program=True)
            c_meta = evaluate_on_chip(chip, test, rule, ad, cfg.n_episodes, torch.Generator().manual_seed(ep_seed))
            chip_r = build_mlp(sizes, model_cfg.activation, tc, seed=seed)
            c_rand = evaluate_on_chip(chip_r, test, rule, ad, cfg.n_episodes, torch.Generator().manual_seed(ep_seed))
            row = {"device": name, "k_shot": k, "chip_meta": c_meta.accuracy, "chip_random": c_rand.accuracy,
                   "float_meta": f_meta.accuracy, "float_random": f_rand.accuracy, "pulses_per_episode": c_meta.pulses,
                   "ci95": c_meta.ci95}
            out.append(row)
            log({"step": mt.meta_steps, **row})
        return out

    rows = [row for k in cfg.k_shots for row in stages.run(f"k-{k}", lambda k=k: k_stage(k))]
    title = f"{cfg.n_way}-way K-shot query accuracy after {ad.steps} adaptation steps ({mt.algorithm})\n\n"
    (run_dir / "table_meta.md").write_text(title + markdown_table(rows, _COLUMNS))
    (run_dir / "table_meta.csv").write_text(",".join(_COLUMNS) + "\n" +
                                            "\n".join(",".join(str(r[c]) for c in _COLUMNS) for r in rows) + "\n")
    bar_chart(rows, lambda r: f"{r['device']} {r['k_shot']}-shot", ("chip_meta", "chip_random", "float_meta"),
              run_dir / "fig_few_shot.png", "query accuracy", f"{cfg.n_way}-way few-shot after on-chip adaptation")
    n_query = cfg.n_episodes * cfg.n_way * cfg.n_query
    health = verdict([
        chance_problem(max(r["float_meta"] for r in rows), 1.0 / cfg.n_way, n_query, "best float meta-learned accuracy",
                       "meta-training did not learn: check meta_train and the data"),
        chance_problem(max(r["chip_meta"] for r in rows), 1.0 / cfg.n_way, n_query, "best on-chip adapted accuracy",
                       "on-chip adaptation did not work: check adaptation, learning.rule and the devices"),
    ])
    return {"results": rows, **health}
