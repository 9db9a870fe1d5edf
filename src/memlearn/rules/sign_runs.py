"""Per-sample pulse trains as the fewest sequential writes with identical device physics.

A device cannot tell where one sample's pulse train ends and the next begins when both have the
same sign: ``n1`` potentiating pulses followed by ``n2`` potentiating pulses *are*
``n1 + n2`` pulses in a row. Only a change of sign makes the order matter (a soft-bounded or
nonlinear device responds differently to up-down-up than to up-up-down). So applying each
sample's counts in turn (aihwkit's per-sample semantics) is exactly equivalent to applying, for
every device, its maximal same-sign runs in turn. A batch of ``B`` samples then costs ``R <= B``
whole-array writes, where ``R`` is the largest number of sign alternations any device sees.

:func:`sign_runs` does this for a stack of count matrices; :func:`coincidence_runs` does it while
forming each sample's coincidence counts from its bit streams, one (out, in) matrix at a time in
preallocated buffers, so the (batch, out, in) stack is never materialised.
"""

from __future__ import annotations

import torch
from torch import Tensor


def sign_runs(counts: Tensor) -> Tensor:
    """Merge per-sample signed counts (batch, *shape) into same-sign runs (runs, *shape).

    Zero counts are skipped; consecutive nonzero counts of one sign are summed. Row ``r`` of the
    result holds every device's ``r``-th run (0 for devices with fewer runs). Applying the rows in
    order is pulse-for-pulse the same as applying the samples in order.
    """
    batch = counts.shape[0]
    flat = counts.reshape(batch, -1).to(torch.float32)
    buffers = _buffers(batch, flat.shape[1], flat.dtype, flat.device)
    for b in range(batch):
        _accumulate(flat[b], buffers)
    n_runs = int(buffers["run"].max()) + 1 if batch else 0
    return buffers["runs"][:n_runs].to(counts.dtype).reshape((n_runs,) + tuple(counts.shape[1:]))


def _buffers(batch: int, n: int, dtype: torch.dtype, device: torch.device) -> dict:
    """Scratch tensors of the run merge, reset for a new batch (allocated once per shape: on a busy
    machine a fresh 1 MB tensor costs more in page faults than the arithmetic on it)."""
    out = {"runs": torch.zeros(batch, n, dtype=dtype, device=device)}
    for name in ("sign", "last_sign", "tmp", "tmp2", "run"):
        out[name] = torch.zeros(n, dtype=dtype, device=device)
    out["run"].fill_(-1)
    out["index"] = torch.zeros(n, dtype=torch.int64, device=device)
    return out


def _reset(buffers: dict) -> None:
    buffers["runs"].zero_()
    buffers["last_sign"].zero_()
    buffers["run"].fill_(-1)


def _accumulate(c: Tensor, buf: dict) -> None:
    """Add one sample's counts ``c`` (flat, float) to the run table, in place and allocation-free.

    With ``s = sign(c)`` and ``l`` the sign of the device's current run: a new run starts where
    ``s != 0`` and ``s != l``, i.e. where ``|s (s - l)| >= 1``; then ``l <- s`` where ``s != 0``,
    i.e. ``l <- l (1 - s^2) + s``.
    """
    sign, last, tmp, tmp2, run, index = (buf[k] for k in ("sign", "last_sign", "tmp", "tmp2", "run", "index"))
    torch.sign(c, out=sign)
    torch.sub(sign, last, out=tmp)
    tmp.mul_(sign).abs_().clamp_max_(1.0)
    run.add_(tmp)
    torch.mul(sign, sign, out=tmp2)
    tmp2.neg_().add_(1.0)
    last.mul_(tmp2).add_(sign)
    index.copy_(run).clamp_min_(0)
    buf["runs"].scatter_add_(0, index.unsqueeze(0), c.unsqueeze(0))


def coincidence_runs(sd: Tensor, sx: Tensor, workspace: dict) -> Tensor:
    """Same-sign runs of the per-sample coincidence counts ``c_b = sd_b^T sx_b``.

    Args:
        sd: signed error bit streams (batch, bl, out), entries in {-1, 0, 1}.
        sx: signed input bit streams (batch, bl, in).
        workspace: a dict the caller keeps between calls; holds the buffers.

    Returns:
        (runs, out, in) float counts (a view into the workspace: use before the next call).
    """
    batch, _, n_out = sd.shape
    n_in = sx.shape[2]
    key = (batch, n_out, n_in, sx.dtype, sx.device)
    if workspace.get("key") != key:
        workspace.clear()
        workspace.update(key=key, count=torch.empty(n_out, n_in, dtype=sx.dtype, device=sx.device),
                         buffers=_buffers(batch, n_out * n_in, sx.dtype, sx.device))
    count, buffers = workspace["count"], workspace["buffers"]
    _reset(buffers)
    for b in range(batch):
        torch.matmul(sd[b].T, sx[b], out=count)
        _accumulate(count.view(-1), buffers)
    n_runs = int(buffers["run"].max()) + 1
    return buffers["runs"][:max(n_runs, 0)].view(-1, n_out, n_in)
