"""Pulse coding: how ``(x, d, lr)`` becomes signed pulse counts per weight.

Three codings, each vectorised over devices, pulses and samples:

* stochastic bit streams (Gokmen & Vlasov, Front. Neurosci. 2016): coincidences of Bernoulli
  pulse trains, counted for all devices as one matrix product of the bit streams;
* rounded counts (Burr et al., IEEE TED 2015): ``round(-lr d^T x / dw_min)``;
* sign only (Manhattan rule, Zamanidoost et al., IEEE WISP 2015).

Counts follow the weight layout (out, in); a positive count potentiates the weight.
"""

from __future__ import annotations

import torch
from torch import Tensor

_P_BITS = 15
"""Resolution of the pulse-probability comparator: probabilities are compared against 15-bit
uniform integers, as a hardware LFSR-based stochastic pulse generator would (so a probability is
quantised to 2^-15; the bias is below 3e-5 in probability)."""
_P_ONE = 1 << _P_BITS


def management_scales(x: Tensor, d: Tensor, lr: float, dw_min: float, bl: Tensor | int,
                      update_management: bool = True) -> tuple[Tensor, Tensor]:
    """Per-sample probability scales ``c_x``, ``c_d`` with ``p_x = c_x |x|``, ``p_d = c_d |d|``.

    The expected coincidences ``BL p_x p_d`` times ``dw_min`` must equal ``lr |x d|``, so
    ``c_x c_d = lr / (BL dw_min)`` (Gokmen & Vlasov 2016, Eq. 6). With update management
    (Gokmen et al., Front. Neurosci. 2017, Sec. 2.3) the product is split so that the largest
    probabilities of both streams are equal, ``c_x max|x| = c_d max|d|``, which keeps both
    below 1 as long as the requested update is reachable within BL pulses; otherwise
    ``c_x = c_d = sqrt(lr / (BL dw_min))``.

    Args:
        x: (batch, in); d: (batch, out).
        bl: stream length, an int or a (batch, 1) tensor.

    Returns:
        ``(c_x, c_d)``, each (batch, 1).
    """
    k = lr / (dw_min * (bl if isinstance(bl, Tensor) else float(bl)))
    k = torch.as_tensor(k, dtype=x.dtype, device=x.device).expand(x.shape[0], 1)
    if not update_management:
        c = k.sqrt()
        return c, c
    x_max = x.abs().amax(dim=1, keepdim=True).clamp_min(1e-30)
    d_max = d.abs().amax(dim=1, keepdim=True).clamp_min(1e-30)
    ratio = (d_max / x_max).sqrt()
    c = k.sqrt()
    return c * ratio, c / ratio


def managed_length(x: Tensor, d: Tensor, lr: float, dw_min: float, bl: int) -> int:
    """Stream length for this batch with BL management (aihwkit's ``update_bl_management``):
    the fewest pulses that can still express the largest requested update,
    ``ceil(lr max|x| max|d| / dw_min)``, at most ``bl``, at least 1."""
    x_max = x.abs().amax(dim=1)
    d_max = d.abs().amax(dim=1)
    need = float((lr * x_max * d_max / dw_min).max()) if x.shape[0] else 0.0
    return int(max(1, min(bl, -(-need // 1))))


def bit_streams(p: Tensor, bl: int, generator: torch.Generator) -> Tensor:
    """Bernoulli pulse trains: (batch, n) probabilities -> (batch, bl, n) float tensor of 0/1.

    Draws 64-bit random words and uses each as four 15-bit uniforms (about 8x cheaper than one
    float draw per bit); a bit fires when its uniform is below ``round(p 2^15)``.
    """
    batch, n = p.shape
    count = batch * bl * n
    words = torch.empty((count + 3) // 4, dtype=torch.int64, device=p.device).random_(generator=generator)
    u = words.view(torch.int16)[:count].view(batch, bl, n).bitwise_and_(_P_ONE - 1)
    # u <= round(p 2^15) - 1 fires with probability round(p 2^15) / 2^15: exactly 0 at p = 0, 1 at p = 1.
    threshold = (p.clamp(0.0, 1.0) * _P_ONE).round_().sub_(1).to(torch.int16)
    return (u <= threshold.unsqueeze(1)).to(p.dtype)


def signed_streams(x: Tensor, d: Tensor, lr: float, dw_min: float, bl: int, generator: torch.Generator, *,
                   update_management: bool = True, bl_management: bool = True) -> tuple[Tensor, Tensor]:
    """Signed bit streams of one update: ``sd`` (batch, BL, out) and ``sx`` (batch, BL, in), entries
    in {-1, 0, 1}, with the error stream carrying the descent sign, so that the coincidence
    counts ``sd_b^T sx_b`` are the signed pulse counts of sample ``b`` (Gokmen & Vlasov 2016,
    Eq. 5-6; probabilities from :func:`management_scales`, length from :func:`managed_length`)."""
    if bl_management:
        bl = managed_length(x, d, lr, dw_min, bl)
    c_x, c_d = management_scales(x, d, lr, dw_min, bl, update_management)
    sx = bit_streams(c_x * x.abs(), bl, generator).mul_(x.sign().unsqueeze(1))
    sd = bit_streams(c_d * d.abs(), bl, generator).mul_(d.sign().unsqueeze(1).neg_())
    return sd, sx


def stochastic_counts(x: Tensor, d: Tensor, lr: float, dw_min: float, bl: int, generator: torch.Generator, *,
                      update_management: bool = True, bl_management: bool = True,
                      per_sample: bool = False) -> Tensor:
    """Signed coincidence counts of stochastic pulse trains (Gokmen & Vlasov 2016, Eq. 5-6).

    Each sample's ``x`` and ``d`` become bit streams of length BL with ``p_x = c_x |x|`` and
    ``p_d = c_d |d|`` (:func:`management_scales`); device ``(j, i)`` receives one pulse of sign
    ``-sign(d_j x_i)`` per coincidence, so ``E[n_ji] dw_min = -lr d_j x_i`` while no probability
    saturates. The counts are the dense view of :func:`coincidence_events` (what the rule writes).

    Args:
        x: (batch, in); d: (batch, out); lr: learning rate; dw_min: weight change of one pulse.
        bl: maximum stream length (pulses per update).
        per_sample: False sums the counts over the batch, (out, in); True keeps them per sample,
            (batch, out, in) (memory grows with the batch: the rule uses the sparse
            :func:`coincidence_events` on the streams instead).

    Returns:
        int32 counts, (out, in) or (batch, out, in).
    """
    sd, sx = signed_streams(x, d, lr, dw_min, bl, generator, update_management=update_management,
                            bl_management=bl_management)
    # The dense view of the events the rule writes: one counting path for both.
    w_index, n, lengths = coincidence_events(sd, sx, per_sample)
    n_weights = d.shape[1] * x.shape[1]
    write = torch.repeat_interleave(torch.arange(len(lengths), device=n.device),
                                    torch.tensor(lengths, dtype=torch.long, device=n.device), output_size=n.numel())
    dense = torch.zeros(len(lengths) * n_weights, dtype=torch.int32, device=n.device)
    dense.index_copy_(0, write * n_weights + w_index, n)
    shape = (d.shape[1], x.shape[1])
    return dense.view(len(lengths), *shape) if per_sample else dense.view(shape)


def coincidence_events(sd: Tensor, sx: Tensor, per_sample: bool) -> tuple[Tensor, Tensor, list[int]]:
    """The nonzero coincidence counts of signed bit streams as sparse weight events.

    Only inputs and errors whose streams carry at least one pulse can coincide, so the counts are
    formed on those rows and columns alone (one batched product of the gathered streams) and never
    as a dense (batch, out, in) stack.

    Args:
        sd: signed error streams (batch, BL, out); sx: signed input streams (batch, BL, in).
        per_sample: True keeps each sample's counts as its own write (in sample order); False
            sums them over the batch into one write.

    Returns:
        ``(w_index, n, lengths)``: flat weight indices into (out, in) (int64), their signed counts
        (int32), and the number of events of each write (sample order; distinct weights within one).
    """
    batch, length, n_out = sd.shape
    n_in = sx.shape[2]
    if not per_sample:
        sd, sx = sd.reshape(1, batch * length, n_out), sx.reshape(1, batch * length, n_in)
    active_x, active_d = sx.ne(0).any(dim=1), sd.ne(0).any(dim=1)
    k_in = int(active_x.sum(dim=1).max()) if sd.shape[0] else 0
    k_out = int(active_d.sum(dim=1).max()) if sd.shape[0] else 0
    if k_in == 0 or k_out == 0:
        empty = torch.zeros(0, dtype=torch.int64, device=sd.device)
        return empty, empty.to(torch.int32), [0] * sd.shape[0]
    # Active rows first (stable, so in index order); the padding rows are inactive: zero streams.
    rows = active_x.to(torch.uint8).argsort(dim=1, descending=True, stable=True)[:, :k_in]
    cols = active_d.to(torch.uint8).argsort(dim=1, descending=True, stable=True)[:, :k_out]
    sx_a = sx.gather(2, rows.unsqueeze(1).expand(-1, sx.shape[1], -1))
    sd_a = sd.gather(2, cols.unsqueeze(1).expand(-1, sd.shape[1], -1))
    # (writes, k_in, k_out), whole numbers; input-major, as the arrays store devices (rows = inputs).
    counts = torch.bmm(sx_a.transpose(1, 2), sd_a)
    hit = counts.ne(0)
    at = hit.view(-1).nonzero().squeeze(1)  # one compaction, then gathers (masked_select twice costs 2x)
    w_index = (cols.unsqueeze(1) * n_in + rows.unsqueeze(2)).view(-1).index_select(0, at)
    return w_index, counts.view(-1).index_select(0, at).to(torch.int32), hit.sum(dim=(1, 2)).tolist()


def rounded_counts(x: Tensor, d: Tensor, lr: float, dw_min: float, max_pulses: int) -> Tensor:
    """``round(-lr d^T x / dw_min)`` clipped to ``+-max_pulses``, (out, in) int32 (Burr et al. 2015)."""
    dw = (d.T @ x).mul_(-lr / dw_min)
    return dw.round_().clamp_(-max_pulses, max_pulses).to(torch.int32)


def sign_counts(x: Tensor, d: Tensor) -> Tensor:
    """``-sign(d^T x)``: one pulse per device in the descent direction, (out, in) int32
    (Manhattan rule; Zamanidoost et al., IEEE WISP 2015)."""
    return (d.T @ x).sign_().neg_().to(torch.int32)
