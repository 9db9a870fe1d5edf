"""Phase-change memory: gradual (saturating) SET, abrupt RESET."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from memlearn.devices import map_ops as ops
from memlearn.devices.pulse_map import PulseMap
from memlearn.devices.response import PulseResponse
from memlearn.devices.variability import spread, spread_bounds
from memlearn.devices.validation import check_bounds
from memlearn.validation import check_count, check_range


def pcm_map(n, xi, p):
    """n pulses: SET (``n > 0``) composes like soft bounds toward ``g_max`` (``a = x = q^n - 1``,
    ``b = -g_max x + sqrt(nvar x (x + 2)) xi``); RESET (``n < 0``) forgets ``g``: ``a = -1``,
    ``b = g_reset + s_reset xi``. ``p = (log_keep, nvar, g_max, g_reset, sigma_reset)``."""
    reset = n < 0.0
    x = ops.expm1(ops.positive(n) * p[0])
    var = p[1] * x * (x + 2.0)
    return (ops.select(reset, -1.0, x),
            ops.select(reset, p[3] + p[4] * xi, ops.sqrt(ops.positive(var)) * xi - p[2] * x))


@dataclass(frozen=True, kw_only=True)
class PCMResponse(PulseResponse):
    """PCM pulse response: partial-SET pulses crystallise gradually, a RESET pulse melt-quenches.

    SET (``n > 0``): ``G <- G_max - (G_max - G)(1 - alpha) + s xi`` per pulse, the conductance
    increment shrinking as the cell crystallises, with large cycle-to-cycle noise ``s`` comparable
    to the mean step (Nandakumar et al., "A phase-change memory model for neuromorphic
    computing", J. Appl. Phys. 124, 152135 (2018), Fig. 3-4: mean and std of the SET increment
    versus G). n SET pulses compose in closed form (``_saturating.py``).

    RESET (``n < 0``): abrupt: whatever the number of RESET pulses, the cell returns to the
    amorphous state, ``G = G_min + reset_level (G_max - G_min) + s_reset xi``, clipped to the
    bounds. PCM synapses can't be depressed gradually, which is why PCM training uses
    differential pairs with occasional refresh (Nandakumar et al., Front. Neurosci. 2020, mixed
    precision; Boybat et al., Nat. Commun. 2018). The strong conductance drift of the amorphous
    phase is a separate effect (``Drift``), set in the PCM preset (Joshi et al., Nat. Commun. 2020).
    """

    affine: ClassVar[bool] = True

    g_min: float = 0.1e-6
    """Conductance of the RESET (amorphous) state (S, > 0)."""
    g_max: float = 20e-6
    """Saturation conductance of the fully SET state (S, > g_min)."""
    n_set: int = 20
    """Inverse of the relative SET step at G_min: ``alpha = 1 / n_set`` (>= 2)."""
    sigma_c2c: float = 0.0
    """Cycle-to-cycle std of one SET increment, relative to (G_max - G_min); in [0, 1]."""
    reset_level: float = 0.0
    """Mean RESET conductance above G_min, relative to (G_max - G_min); in [0, 1]."""
    sigma_reset: float = 0.0
    """Std of the RESET conductance, relative to (G_max - G_min); in [0, 1]."""
    d2d_step: float = 0.0
    """Device-to-device relative std of alpha; in [0, 1]."""
    d2d_bounds: float = 0.0
    """Device-to-device relative std of G_min and G_max; in [0, 0.5]."""

    def __post_init__(self) -> None:
        check_bounds(self.g_min, self.g_max, self.d2d_bounds)
        check_count("n_set", self.n_set, 2, 1e7)
        check_range("sigma_c2c", self.sigma_c2c, 0.0, 1.0)
        check_range("reset_level", self.reset_level, 0.0, 1.0)
        check_range("sigma_reset", self.sigma_reset, 0.0, 1.0)
        check_range("d2d_step", self.d2d_step, 0.0, 1.0)

    def sample(self, shape, generator, device=None, dtype=torch.float32) -> dict[str, Tensor]:
        g_min, g_max = spread_bounds(self.g_min, self.g_max, self.d2d_bounds, shape, generator, device, dtype)
        span = g_max - g_min
        alpha = spread(1.0 / self.n_set, self.d2d_step, shape, generator, device, dtype, minimum=1e-7).clamp_max(0.5)
        log_keep = torch.log1p(-alpha)
        sigma = self.sigma_c2c * span
        # SET composes like soft bounds (``_saturating.py``): Var = s^2 (1 - q^2n) / (1 - q^2).
        return {"g_min": g_min, "g_max": g_max, "log_keep": log_keep,
                "nvar": sigma * sigma / torch.expm1(2.0 * log_keep),
                "g_reset": g_min + self.reset_level * span, "sigma_reset": self.sigma_reset * span}

    def moments(self, g: Tensor, n: Tensor, params: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        x = torch.expm1(n.clamp_min(0).to(g.dtype) * params["log_keep"])  # q^n - 1
        mean_set = g - (params["g_max"] - g) * x
        var_set = params["nvar"] * x * (x + 2.0)
        reset = n < 0
        mean = torch.where(reset, params["g_reset"], mean_set)
        var = torch.where(reset, params["sigma_reset"] ** 2, var_set)
        return mean, var

    def pulse_map(self) -> PulseMap:
        return PulseMap(pcm_map, ("log_keep", "nvar", "g_max", "g_reset", "sigma_reset"),
                        noisy=self.sigma_c2c > 0 or self.sigma_reset > 0)

    def initial(self, params: dict[str, Tensor]) -> Tensor:
        """A fresh cell is in the RESET state (mean RESET conductance)."""
        return params["g_reset"].clone()

    def n_states(self, params: dict[str, Tensor]) -> Tensor:
        """Range over the mean SET step at mid-range: ``2 / alpha``."""
        return 2.0 / (-torch.expm1(params["log_keep"]))
