"""DeployedLayer: an analog layer plus the digital periphery that compensates it
(per-column gain/offset calibration and global drift compensation)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from memlearn.devices.pcm_like import PCMLikeDrift
from memlearn.nn.convert import register_read_time
from memlearn.nn.tile import AnalogTile
from memlearn.validation import check_range


def find_tile(module: nn.Module) -> AnalogTile:
    """The analog tile inside an analog layer (AnalogLinear, AnalogConv2d)."""
    for m in module.modules():
        if isinstance(m, AnalogTile):
            return m
    raise TypeError(f"{type(module).__name__} holds no AnalogTile")


class DeployedLayer(nn.Module):
    """``y = gain * drift_scale * analog(x) + offset + bias``, everything after ``analog`` digital.

    * ``gain``, ``offset`` (per output channel): mapping-bias compensation, fitted by least squares
      from a few calibration inputs after programming (:meth:`calibrate_columns`), as done on
      chips to absorb per-column conductance errors into the periphery (e.g. Wan et al., Nature
      2022, NeuRRAM; Rasch et al., Nat. Commun. 2023).
    * ``drift_scale`` (scalar): global drift compensation of Joshi et al., Nat. Commun. 2020:
      ``drift_scale(t) = sum |U W(t_ref)| / sum |U W(t)|`` from a calibration read of fixed random
      inputs ``U`` at programming time and at ``t`` (:meth:`read_at`).

    Args:
        analog: the analog layer without bias (its tile holds the weights).
        bias: the digital bias (out,) or None.
        channel_dim: dimension of the output channels (1 for conv, -1 for linear).
        calibration_vectors: (n, fan_in) fixed calibration inputs for the drift read.
        t_reference: time (s) after programming of the reference calibration read.
    """

    def __init__(self, analog: nn.Module, bias: Tensor | None, channel_dim: int, calibration_vectors: Tensor,
                 t_reference: float) -> None:
        super().__init__()
        self.analog = analog
        self.tile = find_tile(analog)
        out = self.tile.out_features
        ref = calibration_vectors
        self.channel_dim, self.t_reference = int(channel_dim), float(t_reference)
        self.bias = None if bias is None else nn.Parameter(bias.detach().clone(), requires_grad=False)
        self.register_buffer("gain", torch.ones(out, device=ref.device))
        self.register_buffer("offset", torch.zeros(out, device=ref.device))
        self.register_buffer("drift_scale", torch.ones((), device=ref.device))
        self.register_buffer("calibration_vectors", ref)
        self.register_buffer("reference_readout", torch.zeros((), device=ref.device))
        self.compensate_drift = False
        self.statistical: PCMLikeDrift | None = None
        self.register_buffer("programmed", None)
        self.generator: torch.Generator | None = None

    @torch.no_grad()
    def hold_statistical(self, model: PCMLikeDrift, g_programmed: Tensor, seed: int) -> None:
        """Read this layer through a statistical PCM model (:mod:`memlearn.hardware_aware.statistical`):
        at each read time the array holds ``G_P`` plus the 1/f noise accumulated until then (drawn
        afresh, seeded by ``seed``), and the tile drifts it with the programmed exponents."""
        self.statistical = model
        self.programmed = g_programmed.detach().clone()
        self.generator = torch.Generator(device=g_programmed.device).manual_seed(int(seed))

    @torch.no_grad()
    def _hold(self, t: float) -> None:
        """Put the array in the state it has ``t`` s after programming."""
        if self.statistical is not None:
            g = self.programmed if t <= 0 else self.statistical.accumulated_noise(self.programmed, t, self.generator)
            self.tile.array.set_conductances(g)
        self.tile.set_read_time(t)

    def _shape(self, v: Tensor, ndim: int) -> Tensor:
        if self.channel_dim in (-1, ndim - 1):
            return v
        shape = [1] * ndim
        shape[self.channel_dim] = -1
        return v.view(shape)

    def forward(self, x: Tensor) -> Tensor:
        z = self.analog(x)
        scale = self.gain * self.drift_scale if self.compensate_drift else self.gain
        y = z * self._shape(scale, z.ndim) + self._shape(self.offset, z.ndim)
        return y if self.bias is None else y + self._shape(self.bias, z.ndim)

    @torch.no_grad()
    def readout(self) -> Tensor:
        """Calibration read: ``sum |U W(t)|`` through the tile at its current read time."""
        return self.tile(self.calibration_vectors).abs().sum()

    @torch.no_grad()
    def read_at(self, t: float, compensate: bool) -> None:
        """Read the array as at ``t`` seconds after programming; with ``compensate`` rescale the
        outputs by a fresh calibration read (global drift compensation). Reached through
        :func:`memlearn.nn.set_read_time` (registered below)."""
        check_range("t", t, 0.0, 1e12)
        if compensate and not float(self.reference_readout) > 0:
            raise ValueError("drift compensation needs the reference read taken at deployment "
                             "(ChipConfig.drift_compensation=True)")
        self._hold(t)
        self.compensate_drift = bool(compensate)
        if compensate:
            self.drift_scale.copy_(self.reference_readout / self.readout().clamp_min(1e-30))

    @torch.no_grad()
    def calibrate_reference(self) -> None:
        """Take the reference calibration read at ``t_reference`` (right after programming; a
        statistical PCM layer reads its programmed state, as aihwkit's baseline read does)."""
        self._hold(0.0 if self.statistical is not None else self.t_reference)
        self.reference_readout.copy_(self.readout())
        self.drift_scale.fill_(1.0)

    @torch.no_grad()
    def calibrate_columns(self, x: Tensor, z_target: Tensor) -> None:
        """Fit per-channel ``gain``, ``offset`` so that ``gain * analog(x) + offset ~ z_target``.

        Args:
            x: calibration inputs of the analog layer (batch, ...).
            z_target: intended pre-bias outputs ``W x`` of the digital layer, same shape as analog(x).
        """
        self._hold(0.0 if self.statistical is not None else self.t_reference)
        z = self.analog(x)
        c = self.channel_dim % z.ndim
        zf = z.movedim(c, -1).reshape(-1, z.shape[c])
        tf = z_target.movedim(c, -1).reshape(-1, z.shape[c])
        zm, tm = zf.mean(0), tf.mean(0)
        cov = ((zf - zm) * (tf - tm)).mean(0)
        var = ((zf - zm) ** 2).mean(0)
        gain = torch.where(var > 1e-12 * (tm.abs() + 1) ** 2, cov / var.clamp_min(1e-30), torch.ones_like(var))
        self.gain.copy_(gain)
        self.offset.copy_(tm - gain * zm)


register_read_time(DeployedLayer, DeployedLayer.read_at)
