"""Weights <-> conductances. The only module that converts between the two.

Every mapping works in *normalised* weights ``w_n`` in [-1, 1]; the tile multiplies by its
weight scale (one per tile or one per output column) digitally, after the ADC.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch
from torch import Tensor

from memlearn.validation import check_positive

WEIGHT_SCALES = ("fixed", "tile", "column")
"""Allowed values of a mapping's ``scale``."""
BASELINES = ("mid", "min")
"""Allowed values of ``DifferentialMapping.baseline``."""


class Mapping(ABC):
    """How one logical weight matrix (out, in) occupies the columns of a crossbar (in, n_columns)."""

    w_max: float
    scale: str

    def _check(self) -> None:
        check_positive("mapping.w_max", self.w_max)
        if self.scale not in WEIGHT_SCALES:
            raise ValueError(f"mapping.scale={self.scale!r} must be one of {WEIGHT_SCALES}")

    @abstractmethod
    def n_columns(self, out_features: int) -> int:
        """Bit lines used by ``out_features`` outputs."""

    @abstractmethod
    def outputs_per_array(self, array_cols: int) -> int:
        """How many outputs fit on one physical array of ``array_cols`` bit lines."""

    @abstractmethod
    def conductance_per_weight(self, g_range: float) -> float:
        """Conductance difference (S) that represents a normalised weight of 1."""

    @abstractmethod
    def normalised(self, g: Tensor, g_min: float, g_max: float, out_features: int, out: Tensor | None = None) -> Tensor:
        """Normalised weights (in, out) from array conductances (in, n_columns); linear in ``g``
        (``g_min``, ``g_max``: the device's nominal bounds, S). ``out``: optional (in, out) result
        buffer (a reused one spares a large allocation per rebuild)."""

    @abstractmethod
    def normalised_std(self, std: Tensor, g_range: float, out_features: int) -> Tensor:
        """Std (in, out) of the normalised weight when each device reads with independent
        Gaussian noise of std ``std`` (in, n_columns, S)."""

    @abstractmethod
    def column_sums(self, g: Tensor, out_features: int) -> Tensor:
        """Total conductance (out,) of the devices that belong to each output (for read power)."""

    @abstractmethod
    def targets(self, w_n: Tensor, g_min: float, g_max: float) -> Tensor:
        """Conductances (in, n_columns) that represent normalised weights ``w_n`` (out, in)."""

    @abstractmethod
    def device_pulses(self, n_w: Tensor) -> Tensor:
        """Per-device signed pulses (in, n_columns) from per-weight pulse counts (out, in)."""

    @abstractmethod
    def device_events(self, w_index: Tensor, n: Tensor, out_features: int,
                      in_features: int) -> tuple[Tensor, Tensor, int]:
        """Sparse form of :meth:`device_pulses`: weight events (flat indices into (out, in), signed
        counts) -> device events (flat indices into the array, counts) and the devices per weight
        ``k``; event ``e`` becomes device events ``k e .. k e + k - 1``, so consecutive writes stay
        consecutive."""

    @abstractmethod
    def pulse_weight_change(self, step_up: float, step_down: float, g_range: float) -> float:
        """Normalised weight change of one +1 weight pulse, given the devices' mean steps (S)."""

    @abstractmethod
    def array_block(self, g: Tensor, c0: int, c1: int, out_features: int, g_min: float, g_max: float) -> Tensor:
        """Physical conductances (rows, k) of the array holding outputs ``c0:c1`` (``g`` has the rows of one array)."""

    @abstractmethod
    def output_currents(self, currents: Tensor, n_out: int) -> Tensor:
        """Differential output currents (batch, n_out) from a block's bit-line currents (batch, k)."""

    @abstractmethod
    def bit_line_voltages(self, v: Tensor) -> Tensor:
        """Voltages (batch, k) on a block's bit lines that apply per-output voltages ``v`` (batch, n_out)
        in a transposed (backward) read, so the word-line currents are ``sum_j v_j (weight_ij)``."""

    def target_conductances(self, w: Tensor, g_min: float, g_max: float) -> Tensor:
        """Conductances that represent weights ``w`` (out, in) at the fixed scale ``w_max``."""
        return self.targets(w / self.w_max, g_min, g_max)


@dataclass(frozen=True, kw_only=True)
class DifferentialMapping(Mapping):
    """Differential pair: ``w = s (G+ - G-) / (g_max - g_min)``, layout ``[G+ | G-]`` (in, 2*out).

    Each weight uses two devices on two bit lines; the periphery subtracts their currents.
    Positive updates potentiate G+ and depress G- by the same pulse count (push-pull), the
    common bidirectional scheme (e.g. Li et al., Nat. Commun. 2018, 1T1R differential pairs).
    Read noise of the two devices is independent, so the pair's normalised noise has std
    ``sqrt(s+^2 + s-^2) / (g_max - g_min)``.
    """

    w_max: float = 1.0
    """Weight represented by a full-range conductance difference (dimensionless, > 0)."""
    scale: str = "fixed"
    """Weight scale ``s``: ``"fixed"`` = ``w_max``; ``"tile"`` = max|W| of the programmed matrix;
    ``"column"`` = max|W_j| per output column (set when the tile is programmed)."""
    baseline: str = "mid"
    """Where a pair sits for weight 0: ``"mid"`` = both devices at mid-range, ``G+- = g_mid +- dg/2``
    (balanced soft-bounded steps: for training); ``"min"`` = the unused device at g_min and the
    other at ``g_min + |w| (g_max - g_min)`` (small conductances: less drift, read noise and read
    power in common mode; the inference mapping of Joshi et al., Nat. Commun. 2020)."""

    def __post_init__(self) -> None:
        self._check()
        if self.baseline not in BASELINES:
            raise ValueError(f"mapping.baseline={self.baseline!r} must be one of {BASELINES}")

    def columns_per_output(self) -> int:
        return 2

    def n_columns(self, out_features: int) -> int:
        return 2 * out_features

    def outputs_per_array(self, array_cols: int) -> int:
        return array_cols // 2

    def conductance_per_weight(self, g_range: float) -> float:
        return g_range

    def normalised(self, g: Tensor, g_min: float, g_max: float, out_features: int, out: Tensor | None = None) -> Tensor:
        return torch.sub(g[:, :out_features], g[:, out_features:], out=out).div_(g_max - g_min)

    def to_weights(self, g: Tensor, g_range: float, out_features: int) -> Tensor:
        """Weights (out, in) at the fixed scale ``w_max``, from array conductances (in, 2*out)."""
        return (self.w_max / g_range) * (g[:, :out_features] - g[:, out_features:]).T

    def normalised_std(self, std: Tensor, g_range: float, out_features: int) -> Tensor:
        return torch.hypot(std[:, :out_features], std[:, out_features:]) / g_range

    def column_sums(self, g: Tensor, out_features: int) -> Tensor:
        s = g.sum(0)
        return s[:out_features] + s[out_features:]

    def targets(self, w_n: Tensor, g_min: float, g_max: float) -> Tensor:
        """``baseline="mid"``: symmetric about mid-range, ``G+- = g_mid +- dg / 2``: mid-range is where
        soft-bounded up and down steps balance, so learning starts from the devices' most symmetric
        point. ``baseline="min"``: one device at g_min, the other carrying ``|dg|``."""
        dg = (w_n.clamp(-1.0, 1.0) * (g_max - g_min)).T
        if self.baseline == "min":
            return torch.cat([g_min + dg.clamp_min(0.0), g_min + (-dg).clamp_min(0.0)], dim=1)
        g_mid = 0.5 * (g_min + g_max)
        return torch.cat([g_mid + 0.5 * dg, g_mid - 0.5 * dg], dim=1)

    def device_pulses(self, n_w: Tensor) -> Tensor:
        return torch.cat([n_w.T, -n_w.T], dim=1)

    def device_events(self, w_index, n, out_features, in_features):
        j, i = w_index.div(in_features, rounding_mode="floor"), w_index.remainder(in_features)
        plus = i * (2 * out_features) + j
        return (torch.stack([plus, plus + out_features], dim=1).reshape(-1),
                torch.stack([n, -n], dim=1).reshape(-1), 2)

    def pulse_weight_change(self, step_up: float, step_down: float, g_range: float) -> float:
        return (step_up + step_down) / g_range

    def array_block(self, g, c0, c1, out_features, g_min, g_max):
        """Physically the two devices of a pair sit on adjacent bit lines ``(G+_j, G-_j)``, so both
        see nearly the same word-line voltage (interleaved; the buffer keeps ``[G+ | G-]``)."""
        pair = torch.stack([g[:, c0:c1], g[:, out_features + c0:out_features + c1]], dim=2)
        return pair.reshape(g.shape[0], 2 * (c1 - c0))

    def output_currents(self, currents: Tensor, n_out: int) -> Tensor:
        return currents[:, 0::2] - currents[:, 1::2]

    def bit_line_voltages(self, v: Tensor) -> Tensor:
        return torch.stack([v, -v], dim=2).reshape(v.shape[0], 2 * v.shape[1])


@dataclass(frozen=True, kw_only=True)
class ReferenceColumnMapping(Mapping):
    """One device per weight and a reference column: ``w = s (G - g_ref) / ((g_max - g_min) / 2)``.

    Each physical array has one extra bit line of fixed resistors at ``g_ref = (g_min + g_max) / 2``
    whose current is subtracted from every column (the "reference column" scheme, e.g. Chi et al.,
    ISCA 2016, PRIME; Yao et al., Nature 2020 use a shared bias column). The reference resistors are
    fixed, not programmed, so they neither drift nor carry read noise in this model. Layout
    (in, out); half the devices of a differential pair, but a weight pulse moves one device only.
    """

    w_max: float = 1.0
    """Weight represented by a half-range conductance offset from g_ref (dimensionless, > 0)."""
    scale: str = "fixed"
    """Weight scale: ``"fixed"`` = ``w_max``; ``"tile"`` or ``"column"`` = max|W| when programmed."""

    def __post_init__(self) -> None:
        self._check()

    def n_columns(self, out_features: int) -> int:
        return out_features

    def outputs_per_array(self, array_cols: int) -> int:
        return array_cols - 1

    def conductance_per_weight(self, g_range: float) -> float:
        return 0.5 * g_range

    def normalised(self, g: Tensor, g_min: float, g_max: float, out_features: int, out: Tensor | None = None) -> Tensor:
        return torch.sub(g, 0.5 * (g_min + g_max), out=out).div_(0.5 * (g_max - g_min))

    def normalised_std(self, std: Tensor, g_range: float, out_features: int) -> Tensor:
        return std / (0.5 * g_range)

    def column_sums(self, g: Tensor, out_features: int) -> Tensor:
        return g.sum(0)

    def targets(self, w_n: Tensor, g_min: float, g_max: float) -> Tensor:
        g_mid = 0.5 * (g_min + g_max)
        return (g_mid + 0.5 * (g_max - g_min) * w_n.clamp(-1.0, 1.0)).T.contiguous()

    def device_pulses(self, n_w: Tensor) -> Tensor:
        return n_w.T.contiguous()

    def device_events(self, w_index, n, out_features, in_features):
        j, i = w_index.div(in_features, rounding_mode="floor"), w_index.remainder(in_features)
        return i * out_features + j, n, 1

    def pulse_weight_change(self, step_up: float, step_down: float, g_range: float) -> float:
        return 0.5 * (step_up + step_down) / (0.5 * g_range)

    def array_block(self, g, c0, c1, out_features, g_min, g_max):
        ref = torch.full((g.shape[0], 1), 0.5 * (g_min + g_max), dtype=g.dtype, device=g.device)
        return torch.cat([g[:, c0:c1], ref], dim=1)

    def output_currents(self, currents: Tensor, n_out: int) -> Tensor:
        return currents[:, :n_out] - currents[:, n_out:n_out + 1]

    def bit_line_voltages(self, v: Tensor) -> Tensor:
        return torch.cat([v, -v.sum(dim=1, keepdim=True)], dim=1)
