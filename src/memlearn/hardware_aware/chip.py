"""ChipConfig: one simulated chip instance, and the hardware-aware training config that anticipates it."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from memlearn.devices.pcm_like import PCMLikeDrift
from memlearn.devices.state import FREE
from memlearn.validation import check_range
from memlearn.hardware_aware.config import HardwareAwareConfig
from memlearn.hardware_aware.placement import check_placement, pair_targets
from memlearn.hardware_aware.programming_noise import ProgrammingNoise
from memlearn.nn.tile import AnalogTile, TileConfig


@dataclass(frozen=True, kw_only=True)
class ChipConfig:
    """One simulated chip instance: the tile physics, the programming error and the calibration it runs."""

    tile: TileConfig = field(default_factory=TileConfig)
    """Physics and periphery of every tile (device, mapping, DAC/ADC, programmer, ...). A
    ``"fixed"`` mapping scale becomes ``"tile"`` at deployment: each layer's full-scale weight is
    its ``max |W|``, the rule noise-aware training assumes (a ``"column"`` scale is kept)."""
    pair_placement: str = "mid"
    """Which conductance pair holds a weight: "mid" (the mapping's own targets, around mid-range) or
    "min" (the idle device of each pair at g_min, as PCM inference chips do; drift and read noise
    then shrink with |w|). See :mod:`memlearn.hardware_aware.placement`."""
    programming_noise: ProgrammingNoise | None = None
    """Residual conductance error drawn after write-verify (None = only what write-verify leaves)."""
    drift_compensation: bool = True
    """Take a reference calibration read at ``t_reference`` so that global drift compensation
    (Joshi et al., Nat. Commun. 2020) is available at read time."""
    n_calibration: int = 32
    """Number of random calibration input vectors of the drift-compensation read (>= 1)."""
    t_reference: float = 1.0
    """Time after programming of the reference calibration read (s, > 0)."""
    seed: int = 0
    """Chip instance: seeds device-to-device draws, programming and read noise (>= 0)."""

    def __post_init__(self) -> None:
        check_placement(self.pair_placement, self.tile.mapping)
        if isinstance(self.tile.device.drift, PCMLikeDrift) and self.pair_placement != "min":
            raise ValueError(f"pair_placement={self.pair_placement!r}: a statistical PCM device "
                             "(PCMLikeDrift, e.g. preset 'PCM_like') is programmed with the idle device at 0; use 'min'")
        check_range("n_calibration", self.n_calibration, 1, 1e6)
        check_range("t_reference", self.t_reference, 1e-12, 1e12)
        check_range("seed", self.seed, 0, 2**62)


@torch.no_grad()
def estimate_programming_noise(chip: ChipConfig, *, size: tuple[int, int] = (64, 64), seed: int = 12345
                               ) -> ProgrammingNoise:
    """Measure the additive programming error the chip's write-verify leaves (plus its
    ``programming_noise``): program random weights onto a test tile and return the residual
    conductance std relative to ``g_max - g_min`` over the fault-free devices.

    Training then injects the error this chip really makes rather than a guessed figure.
    """
    gen = torch.Generator().manual_seed(seed + 1)
    w = torch.rand(size[0], size[1], generator=gen) * 2 - 1
    tile = AnalogTile(size[1], size[0], chip.tile, seed=seed)
    program_tile(tile, w, chip.pair_placement)
    state, g = tile.array.state, tile.array.g
    if chip.programming_noise is not None:
        g = chip.programming_noise.sample(g, state.g_min, state.g_max, gen)
    target = pair_targets(w / tile.w_scale[:, None], *_bounds(tile), chip.pair_placement, tile.config.mapping)
    target = torch.minimum(torch.maximum(target, state.g_min), state.g_max)
    free = state.fault == FREE
    rel = ((g - target) / (state.g_max - state.g_min))[free]
    return ProgrammingNoise(additive=float(min(rel.std(), 1.0)))


def _bounds(tile: AnalogTile) -> tuple[float, float]:
    response = tile.config.device.response
    return float(response.g_min), float(response.g_max)


@torch.no_grad()
def program_tile(tile: AnalogTile, w: Tensor, placement: str) -> None:
    """Program ``w`` (out, in) onto a fresh tile with its programmer (write-verify by default),
    the pair placed as ``placement`` says; sets the tile's weight scale. Pulses are counted."""
    tile.array.reset()  # a fresh chip: every device at its initial (RESET) conductance
    if placement == "mid":
        tile.program(w)
        return
    tile.set_weights_exact(w)  # only to set the weight scale (w_scale) the tile reads with
    tile.array.reset()
    g_target = pair_targets(w.to(tile.w_scale) / tile.w_scale[:, None], *_bounds(tile), placement, tile.config.mapping)
    tile.config.programmer.program(tile.array, g_target, tile.generator)


def config_for_chip(chip: ChipConfig, *, quantize_weights: bool = False, level_spacing: str = "device",
                    quantize_io: bool = False, programming_noise: ProgrammingNoise | None = None,
                    read_noise: bool = False, faults: bool = False, drift: bool = False,
                    noise_scale: float = 1.0) -> HardwareAwareConfig:
    """A :class:`HardwareAwareConfig` drawn from the chip's own models.

    Args:
        chip: the chip the model will be deployed on.
        quantize_weights: fake-quantise weights to the device's levels (its ``n_states``).
        level_spacing: "device" (the response's own nonlinear spacing) or "uniform".
        quantize_io: fake-quantise inputs/outputs with the tile's DAC/ADC bits (when it has them).
        programming_noise: injected programming error (e.g. ``estimate_programming_noise(chip)``
            or ``chip.programming_noise``); None = none.
        read_noise: inject the device's read noise (if the device has a read-noise model).
        faults: inject stuck-at faults at the device's rates (if it has a faults model).
        drift: inject the device's drift with global compensation (if it has a drift model).
        noise_scale: multiplier on the injected noise stds.
    """
    device = chip.tile.device
    tile = chip.tile
    return HardwareAwareConfig(
        device=device, mapping=tile.mapping, pair_placement=chip.pair_placement, quantize_weights=quantize_weights, level_spacing=level_spacing,
        dac_bits=tile.dac.bits if (quantize_io and tile.dac is not None) else None,
        adc_bits=tile.adc.bits if (quantize_io and tile.adc is not None) else None,
        programming_noise=programming_noise,
        read_noise=read_noise and device.read_noise is not None,
        faults=faults and device.faults is not None,
        drift=drift and device.drift is not None,
        output_noise=tile.output_noise if quantize_io else 0.0, noise_scale=noise_scale)
