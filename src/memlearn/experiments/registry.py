"""The only place where config strings become classes: devices, tiles, rules, data sets, kinds.

Every builder takes a parsed TOML table, validates it into the component's own frozen dataclass
(:func:`memlearn.experiments.schema.validate`: unknown keys are errors) and returns the object.
Implementations of other packages are imported lazily, so a missing optional piece only fails
the config that asks for it.
"""

from __future__ import annotations

import dataclasses
import importlib
import typing
from typing import Any, Callable

from memlearn.experiments import data as _data
from memlearn.experiments.data import DataConfig
from memlearn.experiments.schema import ConfigError, check_keys, validate, validate_value

# --- experiment kinds -------------------------------------------------------------------------

KINDS: dict[str, str] = {
    "train": "memlearn.experiments.kinds.train:run",
    "eqprop": "memlearn.experiments.kinds.eqprop:run",
    "hardware_aware": "memlearn.experiments.kinds.hardware_aware:run",
    "continual": "memlearn.experiments.kinds.continual:run",
    "meta": "memlearn.experiments.kinds.meta:run",
    "programming": "memlearn.experiments.kinds.programming:run",
}
"""Experiment kind -> ``"module:function"`` with the signature ``run(config, run_dir, log, seed) -> dict``."""


def import_target(target: str) -> Any:
    """The object a ``"module:name"`` target of a registry table names (imported on first use)."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def resolve_kind(kind: str) -> Callable[..., dict]:
    """The ``run`` function of an experiment kind (imported on first use)."""
    if kind not in KINDS:
        raise ConfigError(f"[kind] = {kind!r} is not a known experiment kind; allowed: {', '.join(sorted(KINDS))}")
    try:
        return import_target(KINDS[kind])
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"experiment kind {kind!r} is not available in this installation ({exc})") from None


# --- devices ----------------------------------------------------------------------------------

DEVICE_MODELS: dict[str, str] = {
    "ideal": "memlearn.devices.responses.ideal:Ideal",
    "linear_step": "memlearn.devices.responses.linear_step:LinearStep",
    "soft_bounds": "memlearn.devices.responses.soft_bounds:SoftBounds",
    "exp_ltp_ltd": "memlearn.devices.responses.exp_ltp_ltd:ExpLtpLtd",
    "pcm": "memlearn.devices.responses.pcm:PCMResponse",
}
"""``[device] model = "<name>"`` -> pulse-response class (:mod:`memlearn.experiments.device_section` builds it)."""

DEVICE_EFFECTS: dict[str, str] = {
    "read_noise": "memlearn.devices.read_noise:ReadNoise",
    "drift": "memlearn.devices.drift:Drift",
    "faults": "memlearn.devices.faults:Faults",
}
"""Sub-tables of ``[device]`` -> effect class."""

DEFAULT_DEVICE: dict[str, Any] = {"preset": "ideal"}


def build_device(section: dict) -> Any:
    """A :class:`memlearn.devices.Device` from a ``[device]`` table.

    ``{"preset": "TaOx_HfOx"}`` or ``{"model": "soft_bounds", ...response fields...,
    "read_noise": {...}, "drift": {...}, "faults": {...}}``; delegates to
    :func:`memlearn.experiments.device_section.device_from_dict` (errors name the bad field).
    """
    if not isinstance(section, dict):
        raise ConfigError(f"[device] must be a table, got {section!r}")
    from memlearn.experiments.device_section import device_from_dict

    if "file" in section:  # a TOML with a [device] table (`memlearn devices fit --out`): it names the device (its
        # preset or model replaces the config's, so `--set device.file=...` works on any config); other keys override it
        section = {**_device_file(section["file"]),
                   **{k: v for k, v in section.items() if k not in ("file", "preset", "model")}}

    try:
        return device_from_dict(dict(section))
    except ConfigError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        msg = str(exc).strip("'\"")
        raise ConfigError(msg if msg.startswith("device") else f"[device] {msg}") from None


def _device_file(path: Any) -> dict:
    """The ``[device]`` table of the TOML at ``path`` (``device.file``)."""
    import tomllib
    from pathlib import Path

    if not isinstance(path, str):
        raise ConfigError(f"[device.file] = {path!r}: give the path of a TOML with a [device] table")
    try:
        with open(Path(path).expanduser(), "rb") as f:
            table = tomllib.load(f).get("device")
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"[device.file] = {path!r}: cannot read it ({exc})") from None
    if not isinstance(table, dict) or "file" in table:
        raise ConfigError(f"[device.file] = {path!r}: the file needs a [device] table (without its own file key)")
    return table


# --- tiles ------------------------------------------------------------------------------------

PROGRAMMERS: dict[str, str] = {
    "write_verify": "memlearn.crossbar.programming:WriteVerify",
}
"""``[crossbar] programmer = "<name>"`` (or a table with ``name`` + fields) -> programming strategy class."""


def _build_strategy(value: Any, table: dict[str, str], path: str) -> Any:
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, dict) or "name" not in value:
        raise ConfigError(f"[{path}] = {value!r}: give a name ({', '.join(table)}) or a table with `name` and fields")
    fields = dict(value)
    name = fields.pop("name")
    if name not in table:
        raise ConfigError(f"[{path}.name] = {name!r}: unknown; allowed: {', '.join(sorted(table))}")
    try:
        cls = import_target(table[name])
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"[{path}] {name!r} is not available in this installation ({exc})") from None
    return validate(cls, fields, path)


def build_tile_config(config: dict) -> Any:
    """A :class:`memlearn.nn.tile.TileConfig` from the run config's ``[device]`` and ``[crossbar]`` tables.

    ``[crossbar]`` holds every other ``TileConfig`` field (mapping, periphery, array size, IR drop,
    programmer, cost); nested tables are validated into their own dataclasses.
    """
    from memlearn.nn.tile import TileConfig

    device = build_device(config.get("device", DEFAULT_DEVICE))
    section = dict(config.get("crossbar", {}))
    if not isinstance(section, dict):
        raise ConfigError(f"[crossbar] must be a table, got {section!r}")
    fields = {f.name: f for f in dataclasses.fields(TileConfig) if f.init and f.name != "device"}
    unknown = sorted(set(section) - set(fields))
    if unknown:
        raise ConfigError(f"unknown field 'crossbar.{unknown[0]}' (value {section[unknown[0]]!r}); "
                          f"allowed fields of [crossbar]: {', '.join(sorted(fields))}")
    hints = typing.get_type_hints(TileConfig)
    kwargs: dict[str, Any] = {}
    for key, value in section.items():
        if key == "programmer":
            kwargs[key] = _build_strategy(value, PROGRAMMERS, "crossbar.programmer")
            continue
        kwargs[key] = validate_value(hints[key], value, f"crossbar.{key}")
    try:
        return TileConfig(device=device, **kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[crossbar] {exc}") from None


# --- rules ------------------------------------------------------------------------------------

RULES: dict[str, str] = {
    "stochastic": "memlearn.rules:StochasticPulse",
    "deterministic": "memlearn.rules:DeterministicPulse",
    "manhattan": "memlearn.rules:Manhattan",
    "mixed_precision": "memlearn.rules:MixedPrecision",
    "tiki_taka": "memlearn.rules:TikiTaka",
    "neurosim": "memlearn.rules.neurosim:NeuroSimPulse",
}
"""``[learning] rule = "<name>"`` -> rule class."""

LEARNING_KEYS: tuple[str, ...] = ("rule", "lr")
"""Keys of ``[learning]`` that belong to the runner, not to the rule's own dataclass."""


def rule_class(name: str) -> type:
    """The rule class registered under ``name``."""
    if name not in RULES:
        raise ConfigError(f"[learning.rule] = {name!r}: unknown rule; allowed: {', '.join(RULES)}")
    try:
        return import_target(RULES[name])
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"[learning.rule] = {name!r} is not available in this installation ({exc})") from None


def build_rule(section: dict) -> Any:
    """A :class:`memlearn.rules.Rule` from ``[learning]``: ``rule`` names it, other keys are its fields
    (``lr`` is the optimizer's and is skipped here)."""
    if not isinstance(section, dict):
        raise ConfigError(f"[learning] must be a table, got {section!r}")
    name = section.get("rule", "stochastic")
    if not isinstance(name, str):
        raise ConfigError(f"[learning.rule] = {name!r}: must be a string; allowed: {', '.join(RULES)}")
    cls = rule_class(name)
    allowed = sorted({f.name for f in dataclasses.fields(cls) if f.init} | set(LEARNING_KEYS))
    unknown = sorted(set(section) - set(allowed))
    if unknown:
        raise ConfigError(f"unknown field 'learning.{unknown[0]}' (value {section[unknown[0]]!r}); allowed fields of "
                          f"[learning] with rule = {name!r}: {', '.join(allowed)}")
    return _build_rule(cls, {k: v for k, v in section.items() if k not in LEARNING_KEYS}, "learning")


def _build_rule(cls: type, fields: dict, path: str) -> Any:
    """Validate a rule's fields; fields typed as a rule (Tiki-Taka's ``rule``, ``transfer_rule``)
    take a rule name or a table ``{rule = "<name>", <its fields>}`` and are built recursively."""
    from memlearn.rules.rule import Rule

    hints = typing.get_type_hints(cls)
    nested = [k for k, h in hints.items() if isinstance(h, type) and issubclass(h, Rule)]
    if not nested:
        return validate(cls, fields, path)
    check_keys_shallow = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(fields) - check_keys_shallow)
    if unknown:
        raise ConfigError(f"unknown field '{path}.{unknown[0]}' (value {fields[unknown[0]]!r}); "
                          f"allowed fields of [{path}]: {', '.join(sorted(check_keys_shallow))}")
    kwargs: dict[str, Any] = {}
    for key, value in fields.items():
        if key in nested:
            table = {"rule": value} if isinstance(value, str) else value
            if not isinstance(table, dict) or not isinstance(table.get("rule"), str):
                raise ConfigError(f"[{path}.{key}] = {value!r}: give a rule name ({', '.join(RULES)}) "
                                  "or a table with `rule` and its fields")
            inner = dict(table)
            kwargs[key] = _build_rule(rule_class(inner.pop("rule")), inner, f"{path}.{key}")
        else:
            kwargs[key] = validate_value(hints[key], value, f"{path}.{key}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[{path}] {exc}") from None


# --- data -------------------------------------------------------------------------------------

DATASETS: dict[str, Callable[[DataConfig], Any]] = {
    "digits": _data.digits,
    "mnist": _data.mnist,
    "omniglot": _data.omniglot,
    "npz": _data.npz,
    "csv": _data.csv,
    "parquet": _data.parquet,
}
"""``[data] name`` -> loader."""


def load_data(section: dict) -> Any:
    """A :class:`memlearn.datasets.Dataset` from ``[data]``: ``name`` = digits | mnist | omniglot | npz | csv |
    parquet (fields: :class:`memlearn.experiments.data.DataConfig`), normalised as configured."""
    if not isinstance(section, dict):
        raise ConfigError(f"[data] must be a table, got {section!r}")
    cfg = validate(DataConfig, dict(section), "data")
    try:
        return DATASETS[cfg.name](cfg)
    except (FileNotFoundError, OSError, _data.DataFileError) as exc:
        raise ConfigError(f"[data] name = {cfg.name!r}: {exc}") from None


__all__ = [
    "KINDS", "RULES", "DATASETS", "PROGRAMMERS", "DEVICE_MODELS", "DEVICE_EFFECTS", "LEARNING_KEYS", "ConfigError", "build_device", "build_tile_config",
    "build_rule", "load_data", "resolve_kind", "rule_class", "check_keys", "import_target",
]
