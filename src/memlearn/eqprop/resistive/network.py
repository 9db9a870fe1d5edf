"""ResistiveNetwork: a layered circuit of programmable conductances (crossbars) and diode pairs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch
from torch import Tensor, nn

from memlearn.crossbar.crossbar import Crossbar
from memlearn.devices.device import Device
from memlearn.devices.responses.ideal import Ideal
from memlearn.validation import check_range
from memlearn.eqprop.resistive.diode import DiodePair


@dataclass(frozen=True, kw_only=True)
class ResistiveConfig:
    """Physics and encodings of a deep resistive network (Kendall et al. 2020; Scellier, ICML 2024)."""

    device: Device = field(default_factory=lambda: Device(response=Ideal(g_min=1e-6, g_max=1e-5, states=1000)))
    """Model of every programmable conductance."""
    diode: DiodePair = field(default_factory=DiodePair)
    """Nonlinear element at every hidden node."""
    input_voltage: float = 1.0
    """Input ``x`` in [0, 1] is applied as ``+x V`` and ``-x V`` on two source nodes (V, > 0);
    the pair lets positive conductances act as signed weights (Kendall et al. 2020, Sec. 2)."""
    bias_voltage: float = 1.0
    """Two extra sources at ``+-bias_voltage`` play the role of biases (V, >= 0)."""
    target_voltage: float = 0.02
    """Output pair ``(v+, v-)`` of a class is nudged toward ``+-target_voltage/2`` for the correct
    class and ``-+target_voltage/2`` for the others (V, > 0); the prediction is ``argmax(v+ - v-)``."""

    def __post_init__(self) -> None:
        check_range("resistive.input_voltage", self.input_voltage, 1e-6, 1e3)
        check_range("resistive.bias_voltage", self.bias_voltage, 0.0, 1e3)
        check_range("resistive.target_voltage", self.target_voltage, 1e-6, 1e3)


class ResistiveNetwork(nn.Module):
    """Layered nonlinear resistive network: source nodes -> hidden nodes (diode pairs) -> output nodes.

    Layer ``l`` and ``l+1`` are joined by a :class:`Crossbar` whose device at (i, j) is the
    conductance between node i of layer l (word line) and node j of layer l+1 (bit line), the
    deep resistive network of Scellier, ICML 2024 (Sec. 2) without amplifiers. Input sources are
    ``[x, -x, +b, -b]`` volts; outputs are node pairs read differentially.

    Args:
        sizes: ``(n_inputs, hidden..., n_classes)`` logical sizes; the circuit has
            ``2 n_inputs + 2`` source nodes and ``2 n_classes`` output nodes.
        config: device, diode and encodings.
        seed: seeds the network's generator (device draws, initial conductances, pulses).
    """

    def __init__(self, sizes: Sequence[int], config: ResistiveConfig | None = None, seed: int = 0,
                 *, device: torch.device | str | None = None) -> None:
        super().__init__()
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes={sizes!r} must list at least two layer widths, each >= 1")
        self.sizes = tuple(sizes)
        self.config = config or ResistiveConfig()
        self.generator = torch.Generator(device=device or "cpu").manual_seed(seed)
        nodes = [2 * sizes[0] + 2] + sizes[1:-1] + [2 * sizes[-1]]
        self.node_counts = tuple(nodes)
        bars = []
        for n_in, n_out in zip(nodes[:-1], nodes[1:]):
            bar = Crossbar(n_in, n_out, self.config.device, self.generator, torch_device=device)
            state = bar.state
            # Digital initialisation (no pulses): uniform over each device's range (Scellier 2024, Sec. 4).
            u = torch.rand(bar.g.shape, generator=self.generator, device=bar.g.device, dtype=bar.g.dtype)
            g0 = state.g_min + u * (state.g_max - state.g_min)
            bar.set_conductances(g0)  # fault-free devices only
            bars.append(bar)
        self.crossbars = nn.ModuleList(bars)

    def conductances(self, dtype: torch.dtype = torch.float64) -> list[Tensor]:
        """Conductance matrices (S) of every crossbar as the circuit sees them, (n_l, n_{l+1})."""
        return [bar.conductances().to(dtype) for bar in self.crossbars]

    def input_voltages(self, x: Tensor, dtype: torch.dtype = torch.float64) -> Tensor:
        """Source voltages (batch, 2 n_inputs + 2) in V for inputs ``x`` (batch, n_inputs) in [0, 1]."""
        c = self.config
        v = x.to(dtype) * c.input_voltage
        bias = torch.tensor([c.bias_voltage, -c.bias_voltage], dtype=dtype, device=x.device).expand(x.shape[0], 2)
        return torch.cat([v, -v, bias], dim=1)

    def target_voltages(self, target: Tensor, dtype: torch.dtype = torch.float64) -> Tensor:
        """Output-node targets (batch, 2 n_classes) in V from one-hot targets (batch, n_classes)."""
        half = 0.5 * self.config.target_voltage * (2.0 * target.to(dtype) - 1.0)
        return torch.cat([half, -half], dim=1)

    def readout(self, v_out: Tensor) -> Tensor:
        """Differential outputs ``v+ - v-`` (batch, n_classes) from output-node voltages."""
        k = self.sizes[-1]
        return v_out[:, :k] - v_out[:, k:]

    def extra_repr(self) -> str:
        return f"sizes={self.sizes}, nodes={self.node_counts}"
