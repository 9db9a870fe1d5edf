"""Closed-form n-pulse composition of affine one-pulse maps (soft bounds, exp LTP/LTD, PCM SET).

One pulse in direction ``d`` (up or down) is the affine map with additive cycle-to-cycle noise

    g_{k+1} = c_d - (c_d - g_k) q_d + s xi_k,      xi_k ~ N(0, 1) i.i.d.,

with ``c_d`` the (possibly virtual) asymptote and ``q_d = exp(log_keep_d)`` (``q < 1``: saturating
toward ``c``; ``q > 1``: accelerating away from it). Composing n of them gives exactly

    E[g_n]   = g_0 + (c - g_0) (1 - q^n)
    Var[g_n] = s^2 (1 - q^{2n}) / (1 - q^2).

Both are evaluated through ``x = expm1(n log_keep) = q^n - 1`` so that nearly linear devices
(``q -> 1``, far-away virtual asymptote) keep full float32 precision: ``1 - q^{2n} = -x (x + 2)``;
the per-device factor ``s^2 / (1 - q^2)`` is precomputed at sampling. One transcendental and one
Gaussian draw per device, whatever n is.

Storage: every direction-dependent parameter ``p`` is kept as ``p_mid = (p_up + p_down) / 2`` and
``p_half = (p_up - p_down) / 2``, so that with ``s = sign(n)`` the selected value is one fused
``p_mid + s p_half`` (and ``|n| log_keep = |n| lk_mid + n lk_half``), instead of a boolean select
over a random mask, which costs several times more on CPU.
"""

from __future__ import annotations

import torch
from torch import Tensor

BLOCK = 1 << 17
"""Elements processed per chunk of the dense update: temporaries then stay in the L2/L3 cache."""


def _pair(up: Tensor, down: Tensor) -> tuple[Tensor, Tensor]:
    return (up + down) * 0.5, (up - down) * 0.5


def saturating_params(g_min: Tensor, g_max: Tensor, target_up: Tensor, target_down: Tensor,
                      log_keep_up: Tensor, log_keep_down: Tensor, sigma: Tensor) -> dict[str, Tensor]:
    """Per-device parameter dict of a saturating response (all tensors of the array's shape).

    ``sigma`` is the additive cycle-to-cycle std per pulse (S). Stored: ``g_min``, ``g_max`` and
    mid/half pairs of the asymptote ``target``, of ``log_keep`` and of ``nvar = -s^2 / (1 - q^2)``.
    """
    def neg_var_factor(log_keep: Tensor) -> Tensor:
        # 1 - q^2 = -expm1(2 log_keep); |log_keep| is kept away from 0 so the factor stays finite.
        lk = torch.where(log_keep.abs() < 1e-12, torch.full_like(log_keep, -1e-12), log_keep)
        return sigma * sigma / torch.expm1(2.0 * lk)

    t_mid, t_half = _pair(target_up, target_down)
    lk_mid, lk_half = _pair(log_keep_up, log_keep_down)
    v_mid, v_half = _pair(neg_var_factor(log_keep_up), neg_var_factor(log_keep_down))
    return {"g_min": g_min, "g_max": g_max, "target_mid": t_mid, "target_half": t_half,
            "log_keep_mid": lk_mid, "log_keep_half": lk_half, "nvar_mid": v_mid, "nvar_half": v_half}


def directional(params: dict[str, Tensor], name: str, up: bool) -> Tensor:
    """``target``, ``log_keep`` or ``nvar`` of one direction, from its mid/half pair."""
    mid, half = params[f"{name}_mid"], params[f"{name}_half"]
    return mid + half if up else mid - half


def saturating_moments(g: Tensor, n: Tensor, params: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
    """Exact mean and variance (S, S^2) after ``n`` signed pulses (no clipping)."""
    nf = n.to(g.dtype)
    s = nf.sign()
    x = torch.expm1(nf.abs() * params["log_keep_mid"] + nf * params["log_keep_half"])
    target = params["target_mid"] + s * params["target_half"]
    mean = g - (target - g) * x
    nvar = params["nvar_mid"] + s * params["nvar_half"]
    return mean, nvar * x * (x + 2.0)


def _pulse_block(g: Tensor, n: Tensor, p: dict[str, Tensor], generator: torch.Generator, noisy: bool,
                 out: Tensor) -> None:
    nf = n.to(g.dtype)
    na = nf.abs()
    x = torch.mul(na, p["log_keep_mid"]).addcmul_(nf, p["log_keep_half"]).expm1_()  # q^|n| - 1
    s = nf.sign_()
    c = torch.addcmul(p["target_mid"], s, p["target_half"]).sub_(g)
    torch.addcmul(g, c, x, value=-1.0, out=out)  # g + (c - g)(1 - q^n)
    if noisy:
        std = torch.addcmul(p["nvar_mid"], s, p["nvar_half"], out=na)
        std.mul_(x).mul_(x.add_(2.0)).sqrt_()  # sqrt(s^2 (1 - q^2n) / (1 - q^2))
        out.addcmul_(std, s.normal_(generator=generator))
    torch.clamp(out, p["g_min"], p["g_max"], out=out)


def saturating_pulse(g: Tensor, n: Tensor, params: dict[str, Tensor], generator: torch.Generator,
                     noisy: bool) -> Tensor:
    """One Gaussian draw with the exact n-pulse mean and variance, clipped to [g_min, g_max].

    Devices with ``n == 0`` get ``x = 0`` hence exactly ``g`` (clipped: a no-op within bounds).
    A short chain of fused in-place ops over cache-sized blocks: ``randn``, ``expm1`` and memory
    traffic dominate on CPU (see the performance notes); on CUDA one block covers the array.
    """
    out = torch.empty_like(g)
    numel = g.numel()
    if g.is_cuda or numel <= BLOCK or any(v.shape != g.shape for v in params.values()):
        _pulse_block(g, n, params, generator, noisy, out)
        return out
    flat = {k: v.reshape(-1) for k, v in params.items()}
    g_flat, n_flat, out_flat = g.reshape(-1), n.reshape(-1), out.view(-1)
    for start in range(0, numel, BLOCK):  # blocks of devices (cache tiling), not single devices
        sl = slice(start, start + BLOCK)
        _pulse_block(g_flat[sl], n_flat[sl], {k: v[sl] for k, v in flat.items()}, generator, noisy, out_flat[sl])
    return out
