"""Per-device state of an array of devices: a frozen dataclass of tensors."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch
from torch import Tensor

# Fault codes stored in DeviceState.fault (int8).
FREE = 0
STUCK_AT_GMIN = 1
STUCK_AT_GMAX = 2
WORN_OUT = 3  # past its endurance budget: frozen at the conductance it had


@dataclass(frozen=True)
class DeviceState:
    """Everything drawn once per device (device-to-device variation, fault map).

    All tensors have the array's shape. ``params`` holds the pulse response's
    per-device parameters (always at least ``g_min`` and ``g_max``, in S);
    ``drift_nu`` the drift exponent; ``fault`` an int8 code (see module
    constants); ``endurance`` the write-cycle budget (pulses; ``inf`` = none).
    Mutable quantities (conductance, write counts) live in the crossbar.
    """

    params: dict[str, Tensor]
    drift_nu: Tensor
    fault: Tensor
    endurance: Tensor
    extra: dict[str, Tensor] = field(default_factory=dict)

    @property
    def shape(self) -> torch.Size:
        return self.fault.shape

    @property
    def g_min(self) -> Tensor:
        return self.params["g_min"]

    @property
    def g_max(self) -> Tensor:
        return self.params["g_max"]

    def replace(self, **changes) -> "DeviceState":
        return dataclasses.replace(self, **changes)

    def to(self, device: torch.device | str) -> "DeviceState":
        """Move every tensor to ``device`` (dtypes kept)."""
        return DeviceState.unflat({k: v.to(device) for k, v in self.flat().items()})

    def flat(self) -> dict[str, Tensor]:
        """Flatten into ``{name: tensor}`` (for registering buffers)."""
        out = {f"param_{k}": v for k, v in self.params.items()}
        out.update({f"extra_{k}": v for k, v in self.extra.items()})
        out.update(drift_nu=self.drift_nu, fault=self.fault, endurance=self.endurance)
        return out

    @classmethod
    def unflat(cls, flat: dict[str, Tensor]) -> "DeviceState":
        params = {k[len("param_"):]: v for k, v in flat.items() if k.startswith("param_")}
        extra = {k[len("extra_"):]: v for k, v in flat.items() if k.startswith("extra_")}
        return cls(params=params, extra=extra, drift_nu=flat["drift_nu"], fault=flat["fault"], endurance=flat["endurance"])
