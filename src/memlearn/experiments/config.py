"""Run configs: TOML files, ``--set a.b=value`` overrides, and the run header (name, kind, seed).

A run config is one TOML document: top-level ``name``, ``kind`` (default ``"train"``), ``seed``,
``threads``, and one table per layer (``data``, ``model``, ``device``, ``crossbar``, ``learning``,
``train``, ``eval``, plus kind-specific ones). Each table is validated by the component that uses it
(see :mod:`memlearn.experiments.registry`); this module validates the header and applies overrides.
"""

from __future__ import annotations

import copy
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from memlearn.experiments.schema import ConfigError, validate

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")


def check_name(field: str, name: str) -> None:
    """The one name rule of runs and sweeps (their folder names): 1-100 letters, digits, ``_ . -``,
    starting with a letter or digit, so a name can never leave its parent folder."""
    if not isinstance(name, str) or not _NAME.match(name) or name in (".", ".."):
        raise ValueError(f"{field}={name!r} must be 1-100 characters of letters, digits, '_', '.', '-' "
                         "and start with a letter or digit")


@dataclass(frozen=True, kw_only=True)
class RunHeader:
    """Top-level fields of a run config (every table is validated by its own component)."""

    name: str = "run"
    """Run name: the folder ``<runs-dir>/<name>/`` (letters, digits, ``_ . -``; up to 100 characters)."""
    kind: str = "train"
    """Experiment kind: ``train``, ``eqprop``, ``hardware_aware``, ``continual``, ``meta`` or ``programming``."""
    seed: int = 0
    """Seed of everything random in the run: chip instance (device-to-device draws), noise, data order (>= 0)."""
    threads: int = 1
    """Torch CPU threads (1..256); results are bit-identical for a given thread count and machine."""

    def __post_init__(self) -> None:
        check_name("name", self.name)
        if not 0 <= self.seed < 2**63:
            raise ValueError(f"seed={self.seed!r} must be in [0, 2^63)")
        if not 1 <= self.threads <= 256:
            raise ValueError(f"threads={self.threads!r} must be in [1, 256]")


HEADER_KEYS = ("name", "kind", "seed", "threads")


def parse_toml(text: str, source: str | Path = "<config>") -> dict:
    """Parse TOML text, turning syntax errors into a :class:`ConfigError` naming the file and line."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}") from None


def load_toml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not a text (UTF-8 TOML) file") from None
    return parse_toml(text, path)


def parse_value(text: str) -> Any:
    """An override value as TOML would read it (``5`` int, ``0.1`` float, ``true``, ``[1, 2]``,
    ``{a = 1}``), else the raw text as a string (``TaOx_HfOx``)."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_override(item: str) -> tuple[list[str], Any]:
    """``"device.preset=TaOx_HfOx"`` -> ``(["device", "preset"], "TaOx_HfOx")``."""
    key, sep, value = item.partition("=")
    key = key.strip()
    if not sep or not key or any(not part.strip() for part in key.split(".")):
        raise ConfigError(f"--set {item!r}: expected KEY.PATH=VALUE, e.g. --set train.epochs=5")
    return [p.strip() for p in key.split(".")], parse_value(value.strip())


def set_path(config: dict, path: list[str], value: Any) -> dict:
    """A copy of ``config`` with ``value`` at the dotted ``path`` (intermediate tables created)."""
    out = copy.deepcopy(config)
    node = out
    for i, part in enumerate(path[:-1]):
        nxt = node.setdefault(part, {})
        if not isinstance(nxt, dict):
            raise ConfigError(f"--set {'.'.join(path)}: {'.'.join(path[:i + 1])} is a value, not a table")
        node = nxt
    node[path[-1]] = value
    return out


def apply_overrides(config: dict, overrides: list[str] | tuple[str, ...]) -> dict:
    for item in overrides:
        config = set_path(config, *parse_override(item))
    return config


def header(config: dict, source: str | Path | None = None) -> RunHeader:
    """Validate the top-level fields (tables are checked by their components)."""
    top = {k: v for k, v in config.items() if not isinstance(v, dict)}
    unknown = sorted(set(top) - set(HEADER_KEYS))
    if unknown:
        where = f"{source}: " if source else ""
        raise ConfigError(f"{where}unknown top-level field {unknown[0]!r} (value {top[unknown[0]]!r}); "
                          f"allowed: {', '.join(HEADER_KEYS)} and tables")
    return validate(RunHeader, top, "", source)


def resolved(config: dict) -> dict:
    """The config with header defaults filled in (what ``config.resolved.toml`` holds)."""
    head = header(config)
    out = {k: getattr(head, k) for k in HEADER_KEYS}
    out.update({k: v for k, v in config.items() if isinstance(v, dict)})
    return out


def dump_toml(config: dict) -> str:
    """TOML text of a config (``None`` values are dropped: TOML has no null)."""
    def clean(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items() if x is not None}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v
    return tomli_w.dumps(clean(config))
