"""Validation of config sections into frozen dataclasses: strict keys, typed values, clear errors.

pydantic's ``TypeAdapter`` does the type coercion and runs each dataclass's ``__post_init__``
checks; unknown keys are rejected here first (stdlib dataclasses carry no pydantic config, so
``extra="forbid"`` is enforced by walking the dataclass fields). Every error becomes a
:class:`ConfigError` naming the file, the field path, the bad value and what is allowed.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import re
import textwrap
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

T = TypeVar("T")


class ConfigError(ValueError):
    """A config value is wrong: the message names the file, the field path, the value and the fix."""


def _where(source: str | Path | None) -> str:
    return f"{source}: " if source else ""


@functools.lru_cache(maxsize=None)
def _adapter(cls: type) -> TypeAdapter:
    return TypeAdapter(cls)


@functools.lru_cache(maxsize=None)
def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # unresolvable forward reference: fall back to no nested checks
        return {}


def dataclass_members(annotation: Any) -> list[type]:
    """Dataclass types an annotation admits (``X``, ``X | None``, ``Optional[X]``)."""
    if dataclasses.is_dataclass(annotation) and isinstance(annotation, type):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return [a for a in typing.get_args(annotation) if dataclasses.is_dataclass(a) and isinstance(a, type)]
    return []


def check_keys(cls: type, data: Any, path: str, source: str | Path | None = None) -> None:
    """Raise :class:`ConfigError` for keys of ``data`` that are not fields of ``cls`` (recursively)."""
    if not isinstance(data, dict):
        raise ConfigError(f"{_where(source)}[{path}] must be a table of fields, got {data!r}")
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{_where(source)}unknown field {_join(path, unknown[0])!r} (value {data[unknown[0]]!r}); "
                          f"allowed fields of [{path}]: {', '.join(sorted(names)) or '(none)'}")
    hints = _hints(cls)
    for key, value in data.items():
        members = dataclass_members(hints.get(key))
        if members and isinstance(value, dict):
            check_keys(members[0], value, _join(path, key), source)


_NUMBERS = (int, float)


def _admits(annotation: Any) -> set[type]:
    """The plain scalar types (bool, int, float, str) an annotation admits; ``Any`` or an unknown
    type admits everything (an empty set means: do not check)."""
    if annotation in (bool, int, float, str):
        return {annotation}
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        out: set[type] = set()
        for a in typing.get_args(annotation):
            if a is type(None):
                continue
            sub = _admits(a)
            if not sub:
                return set()
            out |= sub
        return out
    if origin is typing.Literal:
        return {type(a) for a in typing.get_args(annotation)}
    if dataclasses.is_dataclass(annotation) or origin in (list, tuple, dict):
        return {object}
    return set()


def check_numbers(cls: type, data: Any, path: str, source: str | Path | None = None) -> None:
    """Numbers must be numbers: a string or a bool where a field takes only numbers (``"400"``,
    ``true``) is a :class:`ConfigError` naming the field, instead of being coerced; recursively
    through nested tables and lists of numbers."""
    if not isinstance(data, dict):
        return
    hints = _hints(cls)
    for key, value in data.items():
        annotation = hints.get(key)
        if annotation is None:
            continue
        _check_value(annotation, value, _join(path, key), source, field_docs(cls).get(key, ""))


def _check_value(annotation: Any, value: Any, field: str, source: str | Path | None, doc: str = "") -> None:
    members = dataclass_members(annotation)
    if members and isinstance(value, dict):
        check_numbers(members[0], value, field, source)
        return
    origin = typing.get_origin(annotation)
    if origin in (list, tuple) and isinstance(value, list):
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        for i, item in enumerate(value):
            if args:
                _check_value(args[min(i, len(args) - 1)] if origin is tuple else args[0], item, f"{field}[{i}]", source,
                             doc)
        return
    admits = _admits(annotation)
    if not admits or object in admits or not admits & set(_NUMBERS):
        return
    wrong = (isinstance(value, bool) and bool not in admits) or (isinstance(value, str) and str not in admits)
    if wrong:
        kinds = " or ".join(sorted({"int": "an integer", "float": "a number", "str": "a string", "bool": "a boolean"}
                                   [t.__name__] for t in admits))
        hint = f"; allowed: {doc}" if doc else ""
        raise ConfigError(f"{_where(source)}[{field}] = {value!r}: must be {kinds}, not {type(value).__name__} "
                          f"{value!r} (write numbers without quotes){hint}")


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _allowed(cls: type, loc: tuple) -> str:
    """The documented meaning/range of the field at ``loc`` (from its attribute docstring)."""
    owner, name = cls, None
    for part in loc:
        if not (isinstance(owner, type) and dataclasses.is_dataclass(owner)) or not isinstance(part, str):
            break
        name = part
        members = dataclass_members(_hints(owner).get(part))
        doc = field_docs(owner).get(part, "")
        if not members:
            return doc
        owner = members[0]
    return field_docs(owner).get(name, "") if name else ""


def validate(cls: type[T], data: Any, path: str, source: str | Path | None = None) -> T:
    """Build ``cls`` (a frozen dataclass) from a config table, or raise :class:`ConfigError`.

    Args:
        cls: the component's own config dataclass.
        data: the parsed TOML table.
        path: the table's dotted path in the config file (e.g. ``"train"``), used in messages.
        source: the config file, named in messages.
    """
    check_keys(cls, data, path, source)
    check_numbers(cls, data, path, source)
    try:
        return _adapter(cls).validate_python(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc = tuple(err.get("loc", ()))
        field = _join(path, ".".join(str(p) for p in loc)) if loc else path
        msg = err.get("msg", str(exc)).removeprefix("Value error, ")
        if not loc:  # a __post_init__ check: its message names the field, value and range
            raise ConfigError(f"{_where(source)}{f'[{field}] ' if field else ''}{msg}") from None
        allowed = _allowed(cls, loc)
        hint = f"; allowed: {allowed}" if allowed else ""
        raise ConfigError(f"{_where(source)}[{field}] = {err.get('input')!r}: {msg}{hint}") from None
    except (TypeError, ValueError) as exc:  # raised by a __post_init__ pydantic did not wrap
        raise ConfigError(f"{_where(source)}{f'[{path}]: ' if path else ''}{exc}") from None


@functools.lru_cache(maxsize=None)
def field_docs(cls: type) -> dict[str, str]:
    """Attribute docstrings of a dataclass: ``{field: docstring}`` (the string after each field)."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if klass is object:
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError, SyntaxError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for node, nxt in zip(body, body[1:]):
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and isinstance(nxt, ast.Expr) \
                    and isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str):
                docs[node.target.id] = " ".join(nxt.value.value.split())
    return docs


def validate_value(annotation: Any, value: Any, path: str) -> Any:
    """Validate one field value against its annotation (dataclass tables checked strictly)."""
    _check_value(annotation, value, path, None)
    members = dataclass_members(annotation)
    if members and isinstance(value, dict):
        if len(members) == 1:
            return validate(members[0], value, path)
        names = {variant_name(m, path.rsplit(".", 1)[-1]): m for m in members}
        fields = dict(value)
        choice = fields.pop("type", next(iter(names)))
        if choice not in names:
            raise ConfigError(f"[{path}.type] = {choice!r}: allowed: {', '.join(names)}")
        return validate(names[choice], fields, path)
    try:
        return _adapter(annotation).validate_python(value)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        raise ConfigError(f"[{path}] = {value!r}: {err.get('msg', exc)} (expected {annotation})") from None
    except Exception as exc:  # annotation pydantic cannot express (an ABC strategy): pass through
        if isinstance(exc, ConfigError):
            raise
        return value


def variant_name(cls: type, field_name: str) -> str:
    """Config name of one dataclass of a union field: ``ReferenceColumnMapping`` in ``mapping`` ->
    ``"reference_column"`` (snake case, the field's name dropped as a suffix)."""
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()
    return snake.removesuffix(f"_{field_name}") or snake
