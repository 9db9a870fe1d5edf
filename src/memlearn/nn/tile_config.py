"""TileConfig: everything that describes one analog tile (device, mapping, periphery, tiling, cost)."""

from __future__ import annotations

from dataclasses import dataclass, field

from memlearn.crossbar.cost import CostConfig
from memlearn.crossbar.ir_drop import IRDropConfig
from memlearn.crossbar.mapping import DifferentialMapping, ReferenceColumnMapping
from memlearn.crossbar.programming import Programmer, WriteVerify
from memlearn.devices.device import Device
from memlearn.devices.responses.ideal import Ideal
from memlearn.validation import check_range
from memlearn.periphery.adc import ADC
from memlearn.periphery.dac import DAC
from memlearn.periphery.management import NOISE_MANAGEMENT, BoundManagement
from memlearn.periphery.weight_read import READ_NOISE_SAMPLING


@dataclass(frozen=True, kw_only=True)
class TileConfig:
    """Everything that describes one analog tile. The defaults are an ideal tile: no periphery
    effects, so a tile equals the float matmul of the weights it holds."""

    device: Device = field(default_factory=lambda: Device(response=Ideal()))
    """Device model of every cell."""
    mapping: DifferentialMapping | ReferenceColumnMapping = field(default_factory=DifferentialMapping)
    """How weights map to conductances (differential pair by default) and the weight scale."""
    dac: DAC | None = None
    """Forward input DAC (word lines); ``None`` = ideal (no clipping, no rounding)."""
    adc: ADC | None = None
    """Forward output ADC (one conversion per column and physical array); ``None`` = ideal."""
    dac_backward: DAC | None = None
    """Backward DAC driving the bit lines with the error signal; ``None`` = ideal."""
    adc_backward: ADC | None = None
    """Backward ADC on the word lines; ``None`` = ideal."""
    output_noise: float = 0.0
    """Std of additive Gaussian noise on each normalised column output before the ADC, drawn per
    MVM (aihwkit ``out_noise``; 0.06 in Joshi et al., Nat. Commun. 2020); >= 0."""
    output_noise_backward: float = 0.0
    """The same for the backward pass; >= 0."""
    read_noise_sampling: str = "gaussian"
    """How each MVM draws the devices' read noise: ``"gaussian"`` (exact; one draw per weight per
    MVM call, shared by the vectors of the call), ``"per_vector"`` (exact; a fresh draw for every
    input vector, computed in the output domain with a second, bfloat16 matmul ``(u^2) @ sigma^2``)
    or ``"moment_matched"`` (per call, each weight reads ``mean +- std`` with a random sign: same
    mean and variance, column outputs Gaussian by the central limit theorem; cheapest). See
    :mod:`memlearn.periphery.weight_read`."""
    noise_management: str = "none"
    """``"abs_max"``: divide each input (and error) vector by its max before the DAC and multiply
    the output back; ``"none"``: divide by the DAC's fixed ``input_range``."""
    bound_management: BoundManagement | None = None
    """Repeat saturated forward MVMs with smaller inputs; ``None`` = off."""
    array_size: tuple[int, int] = (256, 256)
    """Physical array size (word lines, bit lines); larger matrices are tiled over several arrays."""
    ir_drop: IRDropConfig | None = None
    """Wire resistances and solver for IR drop in the arrays; ``None`` = ideal wires."""
    programmer: Programmer = field(default_factory=WriteVerify)
    """Strategy used by ``AnalogTile.program``."""
    cost: CostConfig = field(default_factory=CostConfig)
    """Per-operation energy and latency figures."""

    def __post_init__(self) -> None:
        check_range("output_noise", self.output_noise, 0.0, 1e3)
        check_range("output_noise_backward", self.output_noise_backward, 0.0, 1e3)
        if self.read_noise_sampling not in READ_NOISE_SAMPLING:
            raise ValueError(f"read_noise_sampling={self.read_noise_sampling!r} must be one of {READ_NOISE_SAMPLING}")
        if self.noise_management not in NOISE_MANAGEMENT:
            raise ValueError(f"noise_management={self.noise_management!r} must be one of {NOISE_MANAGEMENT}")
        if len(self.array_size) != 2:
            raise ValueError(f"array_size={self.array_size!r} must be (rows, cols)")
        check_range("array_size[0]", self.array_size[0], 1, 1 << 20)
        check_range("array_size[1]", self.array_size[1], 1, 1 << 20)
        if self.mapping.outputs_per_array(int(self.array_size[1])) < 1:
            raise ValueError(f"array_size[1]={self.array_size[1]} leaves no room for one output with "
                             f"{type(self.mapping).__name__}")
        object.__setattr__(self, "array_size", (int(self.array_size[0]), int(self.array_size[1])))
