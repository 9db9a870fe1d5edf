"""Statistical PCM model for inference: programming noise, conductance-dependent drift and
accumulated 1/f read noise, each a fitted function of the conductance (PCM-like noise model).

Source: S. R. Nandakumar et al., "Phase-change memory models for deep learning training and
inference", IEEE ICECS 2019 (the polynomial programming-noise fit and the drift-exponent fits
against the programmed conductance, measured on a million-device doped-GST array), and
V. Joshi et al., "Accurate deep neural network inference using computational phase-change memory",
Nat. Commun. 11, 2473 (2020), Methods, "PCM-based noise model" (drift with time origin ``t0``, the
accumulated 1/f read noise ``sigma_nG(t) = G(t) Q_s sqrt(ln((t + t_r) / (2 t_r)))``). IBM aihwkit
implements the same fits as ``PCMLikeNoiseModel``; the default coefficients below are the papers'
(and aihwkit 1.1.0's defaults), so the two simulators can share one physics.

With ``x = G_T / g_max`` the normalised target conductance and ``xi ~ N(0, 1)``:

* programming: ``G_P = max(G_T + sigma_P(G_T) xi, 0)``,
  ``sigma_P(G_T) = (c0 + c1 x + c2 x^2) g_max / g_ref`` (``c_k`` fitted at ``g_ref = 25 uS``);
* drift exponent: ``nu = |mu_nu(x) + sigma_nu(x) xi|`` with
  ``mu_nu = clip(-0.0155 ln x + 0.0244, 0.049, 0.1)``,
  ``sigma_nu = clip(-0.0125 ln x - 0.0059, 0.008, 0.045)`` (``x`` floored at 1e-7);
* drift: ``G_D(t) = G_P ((t + t0) / t0)^(-nu)``, ``t`` the time since programming ended;
* read noise accumulated up to ``t``: ``G(t) = max(G_D + |G_D| Q_s sqrt(ln((t + t0 + t_r) / (2 t_r))) xi, 0)``,
  ``Q_s = min(0.0088 / max((|G_P| / g_max)^0.65, 1e-3), 0.2)``.

The read noise is drawn once per read time (the weights a chip holds at ``t``), as in Joshi et al.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from memlearn.devices.drift import Drift
from memlearn.validation import check_positive, check_range

_X_FLOOR = 1e-7
"""Smallest normalised conductance the drift fits are evaluated at (the idle device of a pair)."""


@dataclass(frozen=True, kw_only=True)
class PCMLikeDrift(Drift):
    """The whole statistical PCM model (see the module docstring), held as the device's drift effect.

    As a :class:`Drift` of a :class:`memlearn.devices.device.Device` it drifts a tile's conductances
    with the per-device exponents in ``DeviceState.drift_nu`` and the time origin ``t0``
    (``apply``). The exponents depend on the programmed target, so :func:`memlearn.hardware_aware.deploy`
    draws them at programming with :meth:`drift_exponents`, together with the programming noise
    (:meth:`program`) and, at each read time, the accumulated read noise (:meth:`accumulated_noise`).
    ``sample_nu`` (used before any target is known) draws the exponents of a device at ``g_max``.
    """

    g_max: float = 25e-6
    """Conductance that the largest |weight| maps to (S, > 0)."""
    prog_coeff: tuple[float, float, float] = (0.26348e-6, 1.9650e-6, -1.1731e-6)
    """Programming-noise polynomial ``(c0, c1, c2)`` (S at ``prog_g_reference``): std of the
    programmed conductance = ``c0 + c1 x + c2 x^2`` for ``x = G_T / g_max``."""
    prog_g_reference: float = 25e-6
    """g_max at which ``prog_coeff`` were fitted (S, > 0); the std scales by ``g_max / prog_g_reference``."""
    nu_mean_fit: tuple[float, float, float, float] = (-0.0155, 0.0244, 0.049, 0.1)
    """Mean drift exponent ``clip(a ln x + b, lo, hi)`` as ``(a, b, lo, hi)`` (dimensionless)."""
    nu_std_fit: tuple[float, float, float, float] = (-0.0125, -0.0059, 0.008, 0.045)
    """Device-to-device std of the exponent ``clip(a ln x + b, lo, hi)`` as ``(a, b, lo, hi)`` (absolute)."""
    read_q: float = 0.0088
    """1/f read-noise amplitude ``Q_s`` at ``G = g_max`` (relative to the conductance, >= 0)."""
    read_exponent: float = 0.65
    """``Q_s`` grows as ``(G / g_max)^(-read_exponent)`` for smaller conductances (>= 0)."""
    read_q_max: float = 0.2
    """Upper clip of ``Q_s`` (relative, >= 0)."""
    t_read: float = 250e-9
    """Duration of one read in the 1/f fit (s, > 0)."""
    t0: float = 20.0
    """Time origin of the drift fit: the first read after programming (s, > 0)."""
    prog_noise_scale: float = 1.0
    """Multiplier on the programming-noise std (>= 0)."""
    read_noise_scale: float = 1.0
    """Multiplier on the accumulated read-noise std (>= 0)."""
    drift_scale: float = 1.0
    """Multiplier on the drift exponents (>= 0)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive("pcm_like.g_max", self.g_max)
        check_positive("pcm_like.prog_g_reference", self.prog_g_reference)
        check_positive("pcm_like.t_read", self.t_read)
        for name in ("read_q", "read_exponent", "read_q_max", "prog_noise_scale", "read_noise_scale", "drift_scale"):
            check_range(f"pcm_like.{name}", getattr(self, name), 0.0, 1e3)
        if len(self.prog_coeff) != 3 or len(self.nu_mean_fit) != 4 or len(self.nu_std_fit) != 4:
            raise ValueError("pcm_like.prog_coeff needs 3 values, nu_mean_fit and nu_std_fit 4 (a, b, lo, hi)")

    # --- programming ---
    def programming_std(self, g_target: Tensor) -> Tensor:
        """Std (S) of the programmed conductance for targets ``g_target`` (S, any shape)."""
        x = g_target / self.g_max
        c0, c1, c2 = self.prog_coeff
        sigma = (c0 + x * (c1 + x * c2)) * (self.g_max / self.prog_g_reference)
        return self.prog_noise_scale * sigma.clamp_min(0.0)

    def program(self, g_target: Tensor, generator: torch.Generator) -> Tensor:
        """Programmed conductances ``G_P`` (S) for targets ``g_target`` (S): Gaussian error, floored at 0."""
        xi = torch.randn(g_target.shape, generator=generator, device=g_target.device, dtype=g_target.dtype)
        return (g_target + self.programming_std(g_target) * xi).clamp_min(0.0)

    # --- drift ---
    def nu_moments(self, g_target: Tensor) -> tuple[Tensor, Tensor]:
        """Mean and std of the drift exponent (before the absolute value) at targets ``g_target`` (S)."""
        log_x = torch.log((g_target.abs() / self.g_max).clamp_min(_X_FLOOR))
        a, b, lo, hi = self.nu_mean_fit
        mu = (a * log_x + b).clamp(lo, hi)
        a, b, lo, hi = self.nu_std_fit
        return mu, (a * log_x + b).clamp(lo, hi)

    def drift_exponents(self, g_target: Tensor, generator: torch.Generator) -> Tensor:
        """Per-device drift exponents ``nu = |mu + sigma xi|`` for targets ``g_target`` (S)."""
        mu, sigma = self.nu_moments(g_target)
        xi = torch.randn(g_target.shape, generator=generator, device=g_target.device, dtype=g_target.dtype)
        return self.drift_scale * (mu + sigma * xi).abs()

    def sample_nu(self, shape, generator, device=None, dtype=torch.float32) -> Tensor:
        return self.drift_exponents(torch.full(tuple(shape), self.g_max, device=device, dtype=dtype), generator)

    def apply(self, g: Tensor, nu: Tensor, t: float) -> Tensor:
        """``G (t + t0)/t0)^(-nu)`` (t: seconds since programming ended; t <= 0 returns ``g``)."""
        if t <= 0:
            return g
        return g * torch.pow(torch.as_tensor((t + self.t0) / self.t0, dtype=g.dtype, device=g.device), -nu)

    # --- accumulated read noise ---
    def read_noise_std(self, g_programmed: Tensor, t: float) -> Tensor:
        """Relative std (dimensionless) of the 1/f noise accumulated up to ``t`` s after programming."""
        q = (self.read_q / ((g_programmed.abs() / self.g_max) ** self.read_exponent).clamp_min(1e-3)).clamp_max(self.read_q_max)
        return self.read_noise_scale * q * math.sqrt(math.log((t + self.t0 + self.t_read) / (2 * self.t_read)))

    def accumulated_noise(self, g_programmed: Tensor, t: float, generator: torch.Generator) -> Tensor:
        """Programmed conductances with the read noise accumulated up to ``t`` (S), before drift.

        Drift is a positive factor per device, so ``apply(accumulated_noise(G_P, t), nu, t)`` equals
        ``max(G_D + |G_D| sigma xi, 0)`` of the module docstring."""
        xi = torch.randn(g_programmed.shape, generator=generator, device=g_programmed.device, dtype=g_programmed.dtype)
        return (g_programmed + g_programmed.abs() * self.read_noise_std(g_programmed, t) * xi).clamp_min(0.0)

    def at_time(self, g_programmed: Tensor, nu: Tensor, t: float, generator: torch.Generator) -> Tensor:
        """Conductances (S) read ``t`` s after programming: accumulated read noise, then drift."""
        return self.apply(self.accumulated_noise(g_programmed, t, generator), nu, t)
