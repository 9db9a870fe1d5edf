"""What happens to the chip between tasks: time passes (drift) and new faults appear."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from memlearn.crossbar.cost import model_cost
from memlearn.devices.state import FREE, STUCK_AT_GMAX, STUCK_AT_GMIN
from memlearn.validation import check_probability, check_range
from memlearn.nn.tile import AnalogTile


@dataclass(frozen=True, kw_only=True)
class ChipPhysics:
    """Physics that keeps running while a deployed chip learns a stream of tasks.

    Write counts toward endurance accumulate by themselves (``Crossbar.apply_pulses`` counts every
    pulse and ``Device.wear`` freezes devices past their budget); write energy is the crossbars'
    own pulse accounting (``memlearn.crossbar.cost``, ``V^2 G t_pulse`` per pulse).
    """

    idle_time: float = 0.0
    """Time between the end of one task and the start of the next (s, >= 0). Every tile's
    ``read_time`` is the time elapsed since deployment, so drift (when the device has one) grows
    along the stream. All devices share one clock: a device rewritten late in the stream is
    treated as if programmed at deployment, which overstates its drift (a pessimistic bound)."""
    fault_rate: float = 0.0
    """Fraction of still-free devices that become stuck between two tasks (probability in [0, 1]);
    half stuck at g_min, half at g_max (Chen et al., IEEE TCAD 2017 report both kinds)."""

    def __post_init__(self) -> None:
        check_range("idle_time", self.idle_time, 0.0, 1e12)
        check_probability("fault_rate", self.fault_rate)


def analog_tiles(model: nn.Module) -> list[AnalogTile]:
    """Every analog tile of ``model``, in module order."""
    return [m for m in model.modules() if isinstance(m, AnalogTile)]


def set_elapsed(model: nn.Module, elapsed: float) -> None:
    """Read every tile at ``elapsed`` seconds after deployment (``None`` before any time passed)."""
    for tile in analog_tiles(model):
        tile.set_read_time(float(elapsed) if elapsed > 0 else None)


@torch.no_grad()
def inject_faults(model: nn.Module, rate: float, generator: torch.Generator) -> int:
    """Make a fraction ``rate`` of each tile's free devices stuck (at g_min or g_max with equal
    probability); returns the number of new faults. Fault injection is a change of the fault
    map, not a write: the stuck conductance is set directly and no pulse is counted."""
    check_probability("rate", rate)
    total = 0
    for tile in analog_tiles(model):
        array = tile.array
        state = array.state
        u = torch.rand(array.g.shape, generator=generator, device=generator.device).to(array.g.device)
        new = (state.fault == FREE) & (u < rate)
        high = new & (u < rate / 2)
        fault = torch.where(new, torch.where(high, STUCK_AT_GMAX, STUCK_AT_GMIN), state.fault.long()).to(state.fault.dtype)
        array.state_fault.copy_(fault)
        array.set_conductances(torch.where(high, state.g_max, torch.where(new, state.g_min, array.g)),
                               respect_faults=False)  # the new faults' stuck conductances
        total += int(new.sum())
    return total


def worn_fraction(model: nn.Module) -> float:
    """Fraction of all devices whose cumulative write pulses exceed their endurance budget."""
    tiles = analog_tiles(model)
    worn = sum(int((t.array.n_writes.to(t.array.state.endurance.dtype) > t.array.state.endurance).sum()) for t in tiles)
    total = sum(t.array.g.numel() for t in tiles)
    return worn / max(total, 1)


def total_pulses(model: nn.Module) -> int:
    """Programming pulses applied so far to every device of ``model``."""
    return sum(int(t.array.n_writes.sum()) for t in analog_tiles(model))


def write_energy(model: nn.Module) -> float:
    """Energy of every programming pulse applied so far to ``model``'s arrays (J)."""
    return float(model_cost(model).energy_write)
