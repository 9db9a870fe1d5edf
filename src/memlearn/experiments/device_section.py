"""Device <-> config section (a TOML ``[device]`` table as a dict), with field-path errors.

The names of models and effects are the registry's (``DEVICE_MODELS``, ``DEVICE_EFFECTS``)."""

from __future__ import annotations

import dataclasses
from typing import Any

from memlearn.devices.device import Device
from memlearn.devices.presets import get_preset
from memlearn.devices.response import PulseResponse
from memlearn.experiments.registry import DEVICE_EFFECTS, DEVICE_MODELS, import_target

MODELS: dict[str, type[PulseResponse]] = {name: import_target(t) for name, t in DEVICE_MODELS.items()}
"""``model = "<name>"`` of a ``[device]`` section -> pulse-response class (the registry's table, resolved)."""

EFFECTS: dict[str, type] = {name: import_target(t) for name, t in DEVICE_EFFECTS.items()}
"""Sub-tables of a ``[device]`` section -> effect class (the registry's table, resolved)."""


def _fields(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls) if f.init]


def _build(cls: type, values: dict, path: str) -> Any:
    if not isinstance(values, dict):
        raise ValueError(f"{path} must be a table of fields ({', '.join(_fields(cls))}), got {values!r}")
    allowed = _fields(cls)
    for key in values:
        if key not in allowed:
            raise ValueError(f"{path}.{key}: unknown field (value {values[key]!r}); allowed: {', '.join(allowed)}")
    try:
        return cls(**values)
    except (ValueError, TypeError) as exc:
        msg = str(exc)
        prefix = path.split(".", 1)[0]
        raise ValueError(msg if msg.startswith(prefix) else f"{prefix}.{msg}") from None


def device_from_dict(d: dict) -> Device:
    """Build a :class:`Device` from a config section.

    Either ``{"preset": "TaOx_HfOx"}`` (optionally with response-field overrides such as
    ``sigma_c2c = 0.0``) or ``{"model": "exp_ltp_ltd", ...response fields...}``; either form may
    add ``read_noise``, ``drift`` and ``faults`` tables (each replaces the preset's effect).
    Raises ValueError naming the bad field as ``device.<field>``.
    """
    if not isinstance(d, dict):
        raise ValueError(f"device must be a table, got {d!r}")
    section = dict(d)
    effects = {}
    for key, cls in EFFECTS.items():
        if key in section:
            effects[key] = _build(cls, section.pop(key), f"device.{key}")
    if "preset" in section:
        if "model" in section:
            raise ValueError("device.model and device.preset are exclusive: give one of them")
        name = section.pop("preset")
        try:
            base = get_preset(name)
        except ValueError as exc:
            raise ValueError(f"device.{exc}") from None
        response = base.response
        if section:
            values = {f: getattr(response, f) for f in _fields(type(response))}
            unknown = sorted(set(section) - set(values))
            if unknown:
                raise ValueError(f"device.{unknown[0]}: not a field of preset {name!r} "
                                 f"({type(response).__name__}); allowed: {', '.join(values)}")
            response = _build(type(response), {**values, **section}, "device")
        return Device(response=response, read_noise=effects.get("read_noise", base.read_noise),
                      drift=effects.get("drift", base.drift), faults=effects.get("faults", base.faults))
    model = section.pop("model", "ideal")
    if model not in MODELS:
        raise ValueError(f"device.model={model!r} is unknown; allowed: {', '.join(MODELS)}")
    return Device(response=_build(MODELS[model], section, "device"), **effects)


def device_to_dict(device: Device) -> dict:
    """The config section that :func:`device_from_dict` turns back into an equal ``device``."""
    names = {cls: name for name, cls in MODELS.items()}
    cls = type(device.response)
    if cls not in names:
        raise ValueError(f"device.model: {cls.__name__} has no config name; known: {', '.join(MODELS)}")
    out: dict[str, Any] = {"model": names[cls]}
    out.update({f: getattr(device.response, f) for f in _fields(cls)})
    for key in EFFECTS:
        effect = getattr(device, key)
        if effect is not None:
            out[key] = {f: getattr(effect, f) for f in _fields(type(effect))}
    return out
