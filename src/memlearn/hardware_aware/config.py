"""HardwareAwareConfig: which hardware effects training anticipates, drawn from the chip's own models."""

from __future__ import annotations

from dataclasses import dataclass, field

from memlearn.crossbar.mapping import DifferentialMapping, ReferenceColumnMapping
from memlearn.devices.device import Device
from memlearn.devices.responses.ideal import Ideal
from memlearn.validation import check_range
from memlearn.hardware_aware.placement import check_placement
from memlearn.hardware_aware.programming_noise import ProgrammingNoise

LEVEL_SPACINGS = ("uniform", "device")
RANGE_MODES = ("calibrated", "learnable", "fixed")


@dataclass(frozen=True, kw_only=True)
class HardwareAwareConfig:
    """What a hardware-aware layer simulates during training. Every effect is off by default, so
    a default config trains exactly like the float layer.

    The device, mapping and programming-noise objects are the ones the chip is built from
    (:class:`memlearn.hardware_aware.deploy.ChipConfig`), so training sees the noise the chip has:
    weights go through ``mapping.target_conductances`` to conductances, the conductance-dependent
    noise and faults act there, and ``mapping.to_weights`` brings them back.
    """

    device: Device = field(default_factory=lambda: Device(response=Ideal()))
    """Device model of the chip (levels, read noise and fault rates are taken from it)."""
    mapping: DifferentialMapping | ReferenceColumnMapping = field(default_factory=DifferentialMapping)
    """Weight <-> conductance mapping of the chip."""
    pair_placement: str = "mid"
    """Where the pair's devices sit: "mid" (the mapping's targets) or "min" (idle device at g_min);
    must match the chip's ``ChipConfig.pair_placement`` (see :mod:`memlearn.hardware_aware.placement`)."""
    quantize_weights: bool = False
    """Fake-quantise weights to the levels a differential pair of the device can hold."""
    weight_levels: int | None = None
    """Number of conductance levels per device (>= 2); None = the device's own number of states."""
    level_spacing: str = "uniform"
    """"uniform" levels, or "device": the device's own nonlinear spacing from its pulse response."""
    dac_bits: int | None = None
    """Input (DAC) resolution in bits (2..24); None = inputs not quantised."""
    adc_bits: int | None = None
    """Output (ADC) resolution in bits (2..24); None = outputs not quantised."""
    range_mode: str = "calibrated"
    """How DAC/ADC clamp ranges are set: "calibrated" (running max), "learnable" (PACT) or "fixed"."""
    dac_range: float = 1.0
    """Initial (or fixed) input clamp range (input units, > 0)."""
    adc_range: float = 10.0
    """Initial (or fixed) output clamp range (output units, > 0)."""
    programming_noise: ProgrammingNoise | None = None
    """Programming error injected into the conductances each forward pass; None = off."""
    read_noise: bool = False
    """Inject the device's read noise (``device.read_noise``) each forward pass."""
    faults: bool = False
    """Inject stuck-at faults with the device's rates (``device.faults``), a fresh map each pass."""
    drift: bool = False
    """Inject the device's drift (``device.drift``) each forward pass: per-device exponents drawn from
    the drift model, a read time drawn log-uniformly in ``[t0, drift_t_max]``, then global drift
    compensation (as the chip applies at read time)."""
    drift_t_max: float = 365 * 86400.0
    """Longest read time after programming the drift injection covers (s, > t0 of the drift model)."""
    output_noise: float = 0.0
    """Additive output noise std relative to the batch's max |output| (dimensionless, >= 0)."""
    noise_scale: float = 1.0
    """Multiplier on every injected noise std (train with more noise than the chip has; >= 0)."""
    inject_in_eval: bool = False
    """Keep drawing noise and faults in eval mode (default: eval shows the noise-free trained weights)."""

    def __post_init__(self) -> None:
        if self.weight_levels is not None:
            check_range("weight_levels", self.weight_levels, 2, 1e7)
        check_placement(self.pair_placement, self.mapping)
        if self.level_spacing not in LEVEL_SPACINGS:
            raise ValueError(f"level_spacing={self.level_spacing!r} must be one of {LEVEL_SPACINGS}")
        for name in ("dac_bits", "adc_bits"):
            value = getattr(self, name)
            if value is not None:
                check_range(name, value, 2, 24)
        if self.range_mode not in RANGE_MODES:
            raise ValueError(f"range_mode={self.range_mode!r} must be one of {RANGE_MODES}")
        check_range("dac_range", self.dac_range, 1e-12, 1e12)
        check_range("adc_range", self.adc_range, 1e-12, 1e12)
        check_range("output_noise", self.output_noise, 0.0, 10.0)
        check_range("noise_scale", self.noise_scale, 0.0, 100.0)
        if self.faults and self.device.faults is None:
            raise ValueError("faults=True needs a device with a faults model (device.faults is None)")
        if self.drift and self.device.drift is None:
            raise ValueError("drift=True needs a device with a drift model (device.drift is None)")
        if self.drift:
            check_range("drift_t_max", self.drift_t_max, self.device.drift.t0, 1e12)
        if self.read_noise and self.device.read_noise is None:
            raise ValueError("read_noise=True needs a device with a read-noise model (device.read_noise is None)")
