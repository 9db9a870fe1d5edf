"""Energy, latency and pulse accounting: counters that tiles and crossbars update as they work.

Every MVM and every programming pulse is counted where it happens (``MvmCounter`` in each tile,
``PulseCounter`` in each crossbar) and turned into energy and latency with the per-operation
figures of :class:`CostConfig`. Counters are buffers, so they travel with ``state_dict``.
"""

from __future__ import annotations

import dataclasses
import operator
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from memlearn.validation import check_positive, check_range


@dataclass(frozen=True, kw_only=True)
class CostConfig:
    """Per-operation energy and latency figures. Defaults are ISAAC's 32 nm figures
    (Shafiee et al., ISCA 2016, Table 6 and Sec. 5: 128x128 arrays read in 100 ns, one 8-bit
    1.28 GS/s ADC per array at 2 mW, 1-bit DACs at 4 mW per 1024) and, for writes, the TaOx/HfOx
    row of the MLP+NeuroSim V3.0 device table (Wu et al., VLSI 2018: 1.6 V, 50 ns pulses).
    Override them for another technology or device (e.g. a preset's pulse voltage and width)."""

    adc_energy: float = 1.56e-12
    """Energy of one conversion at ``adc_reference_bits`` (J): 2 mW / 1.28 GS/s (ISAAC)."""
    adc_reference_bits: int = 8
    """Resolution at which ``adc_energy`` holds; other resolutions scale as ``2**(bits - ref)``
    (Walden figure of merit, Walden, IEEE JSAC 1999)."""
    adc_rate: float = 1.28e9
    """Conversions per second of one ADC (1/s)."""
    adc_per_array: int = 1
    """ADCs per physical array, time-multiplexed over its bit lines (ISAAC: one per array)."""
    dac_energy_per_bit: float = 3.9e-16
    """Energy per bit of one input conversion (J): 4 mW / 1024 one-bit DACs x 100 ns (ISAAC);
    a b-bit input costs b of them (bit-serial equivalent)."""
    dac_reference_bits: int = 8
    """Bits charged for a DAC configured without rounding (``bits = None``)."""
    t_read: float = 100e-9
    """Duration of one analog array read (s): the integration window; also charges
    ``v^2 G t_read`` of array energy."""
    write_voltage: float = 1.6
    """Programming pulse amplitude (V); energy per pulse is ``V^2 G t_pulse``."""
    write_pulse_width: float = 50e-9
    """Programming pulse width (s). Updates are applied to all devices in parallel (the RPU
    scheme of Gokmen & Vlasov, Front. Neurosci. 2016), so an update of at most ``n`` pulses
    per device takes ``n * write_pulse_width``."""

    def __post_init__(self) -> None:
        for name in ("adc_energy", "adc_rate", "dac_energy_per_bit", "t_read", "write_voltage", "write_pulse_width"):
            check_positive(f"cost.{name}", getattr(self, name))
        check_range("cost.adc_reference_bits", self.adc_reference_bits, 1, 24)
        check_range("cost.dac_reference_bits", self.dac_reference_bits, 1, 24)
        check_range("cost.adc_per_array", self.adc_per_array, 1, 4096)

    def adc_conversion_energy(self, bits: int | None) -> float:
        b = self.adc_reference_bits if bits is None else bits
        return self.adc_energy * 2.0 ** (b - self.adc_reference_bits)

    def dac_conversion_energy(self, bits: int | None) -> float:
        return self.dac_energy_per_bit * (self.dac_reference_bits if bits is None else bits)


@dataclass(frozen=True)
class TileCost:
    """What a tile (or a whole model) did and what it cost. Energies in J, latencies in s."""

    n_mvm: int = 0
    """Input vectors sent through the arrays (forward and backward, repeats included)."""
    n_dac: int = 0
    """DAC conversions."""
    n_adc: int = 0
    """ADC conversions."""
    n_pulses: int = 0
    """Programming pulses applied (training updates and write-verify)."""
    energy: float = 0.0
    """Total energy (J)."""
    latency: float = 0.0
    """Total latency if every operation ran one after another at array level (s)."""
    energy_dac: float = 0.0
    energy_adc: float = 0.0
    energy_array: float = 0.0
    """Ohmic energy dissipated in the arrays during reads (J)."""
    energy_write: float = 0.0
    latency_mvm: float = 0.0
    latency_write: float = 0.0

    def __add__(self, other: "TileCost") -> "TileCost":
        return TileCost(*(a + b for a, b in zip(dataclasses.astuple(self), dataclasses.astuple(other))))

    def as_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)


_MVM_COUNTS = ("n_mvm", "n_dac", "n_adc")
_MVM_TOTALS = ("energy_dac", "energy_adc", "energy_array", "latency_mvm")
_MVM_NAMES = _MVM_COUNTS + _MVM_TOTALS
_ENERGY_ARRAY = _MVM_NAMES.index("energy_array")
"""Index of ``energy_array`` in ``MvmCounter._views``."""
_MAX_INCREMENTS = 512
"""Most per-pass increments an :class:`MvmCounter` keeps (one per distinct pass shape)."""


class MvmCounter(nn.Module):
    """Counts a tile's MVMs and conversions and accumulates their energy and latency.

    Every counter is a buffer of its own (``state_dict``, ``.to()``), held as a view of one of two
    small tensors (counts, totals): a pass then costs two in-place additions of cached
    increments instead of one tiny operation per counter. The views are rebuilt whenever the
    buffers were replaced (``.to()``, assignment)."""

    def __init__(self, config: CostConfig, device: torch.device | str | None = None) -> None:
        super().__init__()
        self.config = config
        self._pack(torch.zeros(len(_MVM_COUNTS), dtype=torch.int64, device=device),
                   torch.zeros(len(_MVM_TOTALS), dtype=torch.float64, device=device))

    def _pack(self, counts: Tensor, totals: Tensor) -> None:
        """Register the counters as views of ``counts`` and ``totals``."""
        for i, name in enumerate(_MVM_COUNTS):
            self.register_buffer(name, counts[i])
        for i, name in enumerate(_MVM_TOTALS):
            self.register_buffer(name, totals[i])
        self._counts, self._totals = counts, totals
        self._views = tuple(self._buffers[name] for name in _MVM_NAMES)
        self._increments: dict[tuple, tuple[Tensor, Tensor, Tensor]] = {}
        self._increments_config = self.config

    def _packed(self) -> tuple[Tensor, Tensor]:
        """``(counts, totals)``, re-packed from the buffers if any of them was replaced."""
        buffers = self._buffers
        if any(map(operator.is_not, map(buffers.__getitem__, _MVM_NAMES), self._views)):
            self._pack(torch.stack([buffers[name] for name in _MVM_COUNTS]),
                       torch.stack([buffers[name] for name in _MVM_TOTALS]))
        return self._counts, self._totals

    def _increment(self, key: tuple, counts: Tensor, totals: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """What one pass adds to ``counts`` and ``totals`` (the array energy apart) and ``t_read``
        as a 0-d tensor (a Python number costs torch a conversion per operation), cached."""
        if self._increments_config is not self.config or len(self._increments) >= _MAX_INCREMENTS:
            self._increments, self._increments_config = {}, self.config
        inc = self._increments.get(key)
        if inc is None:
            n_vectors, n_inputs, n_outputs, n_arrays_per_output, dac_bits, adc_bits, columns_per_array = key
            c = self.config
            n_dac, n_adc = n_vectors * n_inputs, n_vectors * n_outputs * n_arrays_per_output
            per_vector = c.t_read + -(-columns_per_array // c.adc_per_array) / c.adc_rate
            # the same float products the counters would add one by one; 0.0 keeps energy_array
            inc = self._increments[key] = (
                torch.tensor([n_vectors, n_dac, n_adc], dtype=counts.dtype, device=counts.device),
                torch.tensor([n_dac * c.dac_conversion_energy(dac_bits), n_adc * c.adc_conversion_energy(adc_bits),
                              0.0, n_vectors * per_vector], dtype=totals.dtype, device=totals.device),
                torch.tensor(c.t_read, dtype=totals.dtype))
        return inc

    def record(self, *, n_vectors: int, n_inputs: int, n_outputs: int, n_arrays_per_output: int,
               dac_bits: int | None, adc_bits: int | None, columns_per_array: int, power: Tensor) -> None:
        """Count one pass of ``n_vectors`` vectors.

        Args:
            n_inputs: lines driven per vector (one DAC conversion each).
            n_outputs: outputs per vector; each is converted once per array it spans.
            n_arrays_per_output: arrays contributing a partial output per output.
            columns_per_array: bit lines an array's ADCs serve (sets the conversion time).
            power: ``sum_b sum_ij v_bi^2 G_ij`` over the pass (W): ohmic read power.
        """
        # no autograd context needed: every operand is a buffer, a cached constant or detached
        counts, totals = self._packed()
        key = (n_vectors, n_inputs, n_outputs, n_arrays_per_output, dac_bits, adc_bits, columns_per_array)
        inc_counts, inc_totals, t_read = self._increment(key, counts, totals)
        counts.add_(inc_counts)
        totals.add_(inc_totals)
        # energy in the counters' dtype: power converted exactly, then one rounding of the product
        self._views[_ENERGY_ARRAY].add_(torch.mul(power.detach() if power.requires_grad else power, t_read))

    def report(self) -> TileCost:
        e = [float(getattr(self, n)) for n in ("energy_dac", "energy_adc", "energy_array")]
        lat = float(self.latency_mvm)
        return TileCost(n_mvm=int(self.n_mvm), n_dac=int(self.n_dac), n_adc=int(self.n_adc), energy=sum(e),
                        latency=lat, energy_dac=e[0], energy_adc=e[1], energy_array=e[2], latency_mvm=lat)

    @torch.no_grad()
    def reset(self) -> None:
        for b in self.buffers():
            b.zero_()


class PulseCounter(nn.Module):
    """Counts a crossbar's programming pulses, their energy ``V^2 G t_pulse`` and latency."""

    def __init__(self, config: CostConfig, device: torch.device | str | None = None) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("n_pulses", torch.zeros((), dtype=torch.int64, device=device))
        self.register_buffer("n_steps", torch.zeros((), dtype=torch.int64, device=device))
        """Sum over writes of the largest per-device pulse count (parallel write rounds)."""
        self.register_buffer("pulse_conductance", torch.zeros((), dtype=torch.float64, device=device))
        """Sum over pulses of the conductance of the pulsed device before the write (S)."""

    @torch.no_grad()
    def record(self, pulses: Tensor, steps: Tensor, pulse_conductance: Tensor) -> Tensor:
        """Count what one ``Device.write`` call did (its :class:`memlearn.devices.write.Written`
        totals): pulses, write rounds (sum over writes of the largest count) and the sum over
        pulses of the conductance before its write (S). Returns the pulses (a scalar tensor)."""
        self.n_pulses.add_(pulses)
        self.n_steps.add_(steps)
        self.pulse_conductance.add_(pulse_conductance)
        return pulses

    def report(self) -> TileCost:
        c = self.config
        energy = float(self.pulse_conductance) * c.write_voltage ** 2 * c.write_pulse_width
        latency = int(self.n_steps) * c.write_pulse_width
        return TileCost(n_pulses=int(self.n_pulses), energy=energy, latency=latency,
                        energy_write=energy, latency_write=latency)

    @torch.no_grad()
    def reset(self) -> None:
        for b in self.buffers():
            b.zero_()


def model_cost(module: nn.Module) -> TileCost:
    """Sum the cost of every tile and crossbar inside ``module`` (itself included)."""
    total = TileCost()
    for m in module.modules():
        if isinstance(m, (MvmCounter, PulseCounter)):
            total = total + m.report()
    return total


def reset_cost(module: nn.Module) -> None:
    """Zero every cost counter inside ``module``."""
    for m in module.modules():
        if isinstance(m, (MvmCounter, PulseCounter)):
            m.reset()
