"""Closed-form n-pulse composition of affine one-pulse maps (soft bounds, exp LTP/LTD, PCM SET).

One pulse in direction ``d`` (up or down) is the affine map with additive cycle-to-cycle noise

    g_{k+1} = c_d - (c_d - g_k) q_d + s xi_k,      xi_k ~ N(0, 1) i.i.d.,

with ``c_d`` the (possibly virtual) asymptote and ``q_d = exp(log_keep_d)`` (``q < 1``: saturating
toward ``c``; ``q > 1``: accelerating away from it). Composing n of them gives exactly

    E[g_n]   = g_0 + (c - g_0) (1 - q^n)
    Var[g_n] = s^2 (1 - q^{2n}) / (1 - q^2).

Both are evaluated through ``x = expm1(n log_keep) = q^n - 1`` so that nearly linear devices
(``q -> 1``, far-away virtual asymptote) keep full float32 precision: ``1 - q^{2n} = -x (x + 2)``;
the per-device factor ``s^2 / (1 - q^2)`` is precomputed at sampling. The dense update
(``saturating_pulse``) writes ``x = t r`` with ``t = tanh(y / 2)``, ``r = 1 + e^y``, ``y = n log_keep``
(the same precision near ``y = 0``; ``tanh`` and ``exp`` are vectorised on CPU, ``expm1`` is not):
two cheap transcendentals and one Gaussian draw per device, whatever n is.

Storage: every direction-dependent parameter ``p`` is kept as ``p_mid = (p_up + p_down) / 2`` and
``p_half = (p_up - p_down) / 2``, so that with ``s = sign(n)`` the selected value is one fused
``p_mid + s p_half`` (and ``n log_keep = n (lk_half + s lk_mid)``), instead of a boolean select
over a random mask, which costs several times more on CPU.
"""

from __future__ import annotations

import torch
from torch import Tensor

from memlearn.devices import map_ops as ops
from memlearn.devices.pulse_map import PulseMap

BLOCK = 1 << 16
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


def multiplicative_params(log_keep_up: Tensor, log_keep_down: Tensor, sigma_step: float) -> dict[str, Tensor]:
    """Extra parameters of cycle-to-cycle noise proportional to the step (aihwkit's ``mult_noise``):
    one pulse ``g -> g + (1 - q)(c - g)(1 + sigma_step xi)``. With ``Y = c - g`` each pulse multiplies
    ``Y`` by ``q - (1 - q) sigma_step xi``, so after n pulses ``E[Y_n] = q^n Y_0`` and
    ``E[Y_n^2] = (q^2 + (1 - q)^2 sigma_step^2)^n Y_0^2``: the variance is
    ``Y_0^2 q^{2n} expm1(n m)`` with ``m = log1p(((1 - q) sigma_step / q)^2)``, stored as a mid/half pair."""
    def m(log_keep: Tensor) -> Tensor:
        return torch.log1p((torch.expm1(log_keep).neg() * sigma_step / torch.exp(log_keep)).square())

    m_mid, m_half = _pair(m(log_keep_up), m(log_keep_down))
    return {"mult_log_mid": m_mid, "mult_log_half": m_half}


def directional(params: dict[str, Tensor], name: str, up: bool) -> Tensor:
    """``target``, ``log_keep`` or ``nvar`` of one direction, from its mid/half pair."""
    mid, half = params[f"{name}_mid"], params[f"{name}_half"]
    return mid + half if up else mid - half


def saturating_moments(g: Tensor, n: Tensor, params: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
    """Exact mean and variance (S, S^2) after ``n`` signed pulses (no clipping)."""
    x, c, s, na = _affine_terms(n, params)
    mean = g - (c - g) * x
    var = _additive_var(x, s, params)
    if "mult_log_mid" in params:  # noise proportional to the step (see multiplicative_params)
        var = var + ((c - g) * (1.0 + x)).square() * _mult_growth(na, s, params)
    return mean, var


def _mult_growth(na: Tensor, s: Tensor, params: dict[str, Tensor]) -> Tensor:
    """``expm1(|n| m)`` of the direction of each count (multiplicative noise)."""
    return torch.expm1(na * torch.addcmul(params["mult_log_mid"], s, params["mult_log_half"]))


def _affine_terms(n: Tensor, params: dict[str, Tensor]) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``(x, c, s, |n|)`` of the n-pulse map ``mean = g + (g - c) x``: ``x = q^n - 1`` and the
    asymptote ``c`` of each count's direction ``s = sign(n)``."""
    nf = n.to(params["log_keep_mid"].dtype)
    s = nf.sign()
    na = nf.abs()
    x = torch.expm1(torch.addcmul(na * params["log_keep_mid"], nf, params["log_keep_half"]))
    return x, torch.addcmul(params["target_mid"], s, params["target_half"]), s, na


def _additive_var(x: Tensor, s: Tensor, params: dict[str, Tensor]) -> Tensor:
    """Variance of the additive noise after the pulses, ``nvar x (x + 2)``."""
    return torch.addcmul(params["nvar_mid"], s, params["nvar_half"]).mul_(x).mul_(x + 2.0)


def saturating_affine(n: Tensor, params: dict[str, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
    """The n-pulse map as ``mean(g) = g + a g + b`` and its variance (``PulseResponse.affine_moments``):
    with ``x = q^n - 1``, ``mean = g + (g - c) x`` gives ``a = x``, ``b = -c x``."""
    x, c, s, _ = _affine_terms(n, params)
    return x, (c * x).neg_(), _additive_var(x, s, params)


def saturating_affine_maps(n: Tensor, params: dict[str, Tensor], noise: Tensor) -> tuple[Tensor, Tensor]:
    """``PulseResponse.affine_maps`` of a saturating response: additive noise ``sqrt(var) xi`` goes
    into ``b``; noise proportional to the step, ``r (c - g) xi`` with ``r = q^n sqrt(expm1(|n| m))``,
    is affine in ``g`` once ``xi`` is drawn: ``a -= r xi``, ``b += r xi c``. A response uses one of
    the two."""
    x, c, s, na = _affine_terms(n, params)
    b = (c * x).neg_()
    if "mult_log_mid" in params:
        r = _mult_growth(na, s, params).sqrt_().mul_(x + 1.0).mul_(noise)
        return x - r, b.addcmul_(r, c)
    return x, b.addcmul_(_additive_var(x, s, params).clamp_min_(0).sqrt_(), noise)


def saturating_map(n, xi, p):
    """Declared n-pulse map, additive noise: ``a = x = q^n - 1``, ``b = -c x + sqrt(nvar x (x + 2)) xi``
    with ``q``, ``c``, ``nvar`` of the count's direction (``p``: :data:`SATURATING_PARAMS`)."""
    s = ops.sign(n)
    x = ops.expm1(ops.absolute(n) * p[0] + n * p[1])
    c = p[2] + s * p[3]
    var = (p[4] + s * p[5]) * x * (x + 2.0)
    return x, ops.sqrt(ops.positive(var)) * xi - c * x


def multiplicative_map(n, xi, p):
    """Declared n-pulse map, noise proportional to the step (:func:`multiplicative_params`):
    ``r = q^n sqrt(expm1(|n| m)) xi``, ``a = x - r``, ``b = r c - c x`` (``p``: :data:`MULTIPLICATIVE_PARAMS`)."""
    s = ops.sign(n)
    na = ops.absolute(n)
    x = ops.expm1(na * p[0] + n * p[1])
    c = p[2] + s * p[3]
    r = ops.sqrt(ops.positive(ops.expm1(na * (p[4] + s * p[5])))) * (x + 1.0) * xi
    return x - r, r * c - c * x


SATURATING_PARAMS = ("log_keep_mid", "log_keep_half", "target_mid", "target_half", "nvar_mid", "nvar_half")
MULTIPLICATIVE_PARAMS = ("log_keep_mid", "log_keep_half", "target_mid", "target_half", "mult_log_mid", "mult_log_half")


def saturating_pulse_map(multiplicative: bool, noisy: bool) -> PulseMap:
    """The declared map of a saturating response (additive or step-proportional noise)."""
    if multiplicative:
        return PulseMap(multiplicative_map, MULTIPLICATIVE_PARAMS, noisy=noisy)
    return PulseMap(saturating_map, SATURATING_PARAMS, noisy=noisy)


def _pulse_block(g: Tensor, n: Tensor, p: dict[str, Tensor], generator: torch.Generator | None, out: Tensor,
                 buf: tuple[Tensor, Tensor, Tensor, Tensor], consts: tuple[Tensor, Tensor, Tensor]) -> None:
    """``out = clip(g + (c - g)(q^n - 1) + std xi)`` through ``t = tanh(y / 2)``, ``r = 1 + e^y``.

    With ``y = n log_keep = n (lk_half + s lk_mid)`` (``s = sign(n)``; exact for ``n = 0`` too):
    ``x = q^n - 1 = expm1(y) = t r`` and ``x (x + 2) = t r^2``, so
    ``out = g + r ((g - c) t + s sqrt(nvar t + tiny) xi)``. ``tanh`` and ``exp`` are vectorised on
    CPU (``expm1`` is not) and both keep full relative precision near ``y = 0`` (``t`` is ``y / 2``
    to first order, ``r`` has no cancellation). ``nvar t >= 0``: both have the sign of ``log_keep``.
    ``tiny`` (the smallest normal float32 or float64) keeps zeros out of ``sqrt``, which takes a
    slow path on them on CPU (measured 30x per vector holding a zero); ``s`` then zeroes the noise
    of ``n = 0`` (so those devices keep ``g`` exactly) and only flips the sign of a symmetric ``xi``
    otherwise.
    Seventeen passes, each parameter read once, into four scratch buffers of the block's size
    (``buf``), no allocation; ``generator`` is None for a noiseless response.
    """
    h, s, t, r = buf
    zero, one, tiny = consts
    h.copy_(n)  # n as a float
    torch.sign(h, out=s)  # the direction
    torch.addcmul(p["log_keep_half"], s, p["log_keep_mid"], out=t)  # log_keep of the direction
    torch.addcmul(zero, t, h, value=0.5, out=t)  # y / 2
    torch.exp(t, out=r)
    torch.addcmul(one, r, r, out=r)  # 1 + q^n
    t.tanh_()
    if generator is not None:
        std = torch.addcmul(p["nvar_mid"], s, p["nvar_half"], out=h)
        torch.addcmul(tiny, std, t, out=std).sqrt_().mul_(s)
    c = torch.addcmul(p["target_mid"], s, p["target_half"], out=s)
    torch.sub(g, c, out=c).mul_(t)  # (g - c) t
    if generator is not None:
        c.addcmul_(std, t.normal_(generator=generator))
    torch.addcmul(g, c, r, out=out)
    torch.clamp(out, p["g_min"], p["g_max"], out=out)


def saturating_pulse(g: Tensor, n: Tensor, params: dict[str, Tensor], generator: torch.Generator,
                     noisy: bool) -> Tensor:
    """One Gaussian draw with the exact n-pulse mean and variance, clipped to [g_min, g_max].

    Devices with ``n == 0`` keep exactly ``g`` (clipped: a no-op within bounds). A short chain of
    fused in-place ops over cache-sized blocks, reusing four scratch buffers: ``randn`` and memory
    traffic dominate on CPU (see the performance notes); off the CPU one block covers the array.
    """
    out = torch.empty_like(g)
    numel = g.numel()
    # The smallest normal float32/float64 (float16 rounds it to 0: there it would not be negligible).
    tiny = min(torch.finfo(g.dtype).tiny, torch.finfo(torch.float32).tiny)
    consts = tuple(torch.full((), v, dtype=g.dtype, device=g.device) for v in (0.0, 1.0, tiny))
    block = BLOCK * max(1, torch.get_num_threads())  # each thread's share of an op stays cache-sized
    gen = generator if noisy else None
    if g.device.type != "cpu" or numel <= block or any(v.shape != g.shape for v in params.values()):
        buf = tuple(torch.empty(g.shape, dtype=g.dtype, device=g.device) for _ in range(4))
        _pulse_block(g, n, params, gen, out, buf, consts)
        return out
    # Blocks of devices (cache tiling), not single devices; every view is made once, up front.
    split = {k: v.reshape(-1).split(block) for k, v in params.items()}
    g_blocks, n_blocks, out_blocks = g.reshape(-1).split(block), n.reshape(-1).split(block), out.view(-1).split(block)
    full = tuple(torch.empty(block, dtype=g.dtype, device=g.device) for _ in range(4))
    for i, g_block in enumerate(g_blocks):
        m = g_block.numel()
        buf = full if m == block else tuple(b[:m] for b in full)
        _pulse_block(g_block, n_blocks[i], {k: v[i] for k, v in split.items()}, gen, out_blocks[i], buf, consts)
    return out
