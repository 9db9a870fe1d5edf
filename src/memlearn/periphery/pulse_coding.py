"""Pulse coding: how ``(x, d, lr)`` becomes signed pulse counts per weight.

Three codings (the stochastic trains themselves are drawn by :mod:`memlearn.periphery.line_trains`), each vectorised over devices, pulses and samples:

* stochastic bit streams (Gokmen & Vlasov, Front. Neurosci. 2016): coincidences of Bernoulli
  pulse trains, counted for all devices as one matrix product of the bit streams;
* rounded counts (Burr et al., IEEE TED 2015): ``round(-lr d^T x / dw_min)``;
* sign only (Manhattan rule, Zamanidoost et al., IEEE WISP 2015).

Counts follow the weight layout (out, in); a positive count potentiates the weight.
"""

from __future__ import annotations

import torch
from torch import Tensor

from memlearn import _numba
from memlearn.devices.coincidences import Coincidences
from memlearn.periphery._coincidence_kernel import MAX_LENGTH, coincidence_kernel, pack_trains
from memlearn.periphery.line_trains import LineTrains, firing_levels, line_trains, uniforms


def bit_streams(p: Tensor, bl: int, generator: torch.Generator) -> Tensor:
    """Bernoulli pulse trains: (batch, n) probabilities -> (batch, bl, n) float tensor of 0/1."""
    u = uniforms(p.numel() * bl, generator, p.device).view(p.shape[0], bl, p.shape[1])
    return (u <= firing_levels(p).unsqueeze(1)).to(p.dtype)


def _signed_bits(pool: Tensor, level: Tensor, sign: Tensor, lengths: Tensor, dtype: torch.dtype) -> Tensor:
    """(batch, BL, n) streams in {-1, 0, 1} from the drawn uniforms (see ``LineTrains``); slots past a
    sample's own length stay empty."""
    length = int(lengths.max()) if lengths.numel() else 1
    live = torch.arange(length, device=level.device) < lengths.unsqueeze(1)  # (batch, BL)
    slot = live.unsqueeze(2) & level.ge(0).unsqueeze(1)  # the slots that were drawn, row-major order
    u = torch.zeros(slot.shape, dtype=torch.int16, device=level.device).masked_scatter_(slot, pool)
    bits = (u <= level.unsqueeze(1)) & slot
    return bits.to(dtype).mul_(sign.unsqueeze(1))


def signed_streams(x: Tensor, d: Tensor, lr: float, dw_min: float, bl: int, generator: torch.Generator, *,
                   update_management: bool = True, bl_management: bool = True) -> tuple[Tensor, Tensor]:
    """Signed bit streams of one update: ``sd`` (batch, BL, out) and ``sx`` (batch, BL, in), entries
    in {-1, 0, 1}, with the error stream carrying the descent sign, so that the coincidence
    counts ``sd_b^T sx_b`` are the signed pulse counts of sample ``b`` (Gokmen & Vlasov 2016,
    Eq. 5-6; probabilities from :func:`management_scales`, each sample's length from
    :func:`managed_lengths`; BL is the longest, shorter samples' trailing slots are empty)."""
    s = line_trains(x, d, lr, dw_min, bl, generator, update_management=update_management, bl_management=bl_management)
    return (_signed_bits(s.pool_d, s.level_d, s.sign_d, s.lengths, d.dtype),
            _signed_bits(s.pool_x, s.level_x, s.sign_x, s.lengths, x.dtype))


def stochastic_events(x: Tensor, d: Tensor, lr: float, dw_min: float, bl: int, generator: torch.Generator, *,
                      update_management: bool = True, bl_management: bool = True,
                      per_sample: bool = False) -> tuple[Tensor, Tensor, list[int]]:
    """The coincidence events of one stochastic pulse update (Gokmen & Vlasov 2016, Eq. 5-6), as
    :func:`coincidence_events` of :func:`signed_streams`: ``(w_index, n, lengths)``.

    On the CPU a compiled loop packs each sample's streams into 64-bit words and counts
    coincidences with popcounts (:mod:`memlearn.periphery._coincidence_kernel`); it reads the same
    random draws and returns the same events in the same order as the torch path.
    """
    return train_events(line_trains(x, d, lr, dw_min, bl, generator, update_management=update_management, bl_management=bl_management), per_sample)


def train_events(trains: LineTrains, per_sample: bool) -> tuple[Tensor, Tensor, list[int]]:
    """The coincidence events of drawn trains, ``(w_index, n, lengths)`` (see :func:`coincidence_events`):
    compiled popcounts on the CPU, :func:`coincidence_events` of the signed streams otherwise; the
    same events in the same order either way."""
    s = trains
    if _numba.usable(s.level_x, s.level_d) and _packable(s):
        w_index, n, lengths = coincidence_kernel(
            s.pool_x.numpy(), s.pool_d.numpy(), s.level_x.numpy(), s.level_d.numpy(), s.sign_x.numpy(),
            s.sign_d.numpy(), s.lengths.numpy(), per_sample)
        return torch.from_numpy(w_index), torch.from_numpy(n), lengths.tolist()
    sd = _signed_bits(s.pool_d, s.level_d, s.sign_d, s.lengths, s.dtype)
    sx = _signed_bits(s.pool_x, s.level_x, s.sign_x, s.lengths, s.dtype)
    return coincidence_events(sd, sx, per_sample)


def _packable(trains: LineTrains) -> bool:
    return trains.batch > 0 and trains.bl <= MAX_LENGTH


def packed_coincidences(trains: LineTrains) -> Coincidences | None:
    """The trains packed for the compiled coincidence write (one 64-bit word per line and
    sample), or ``None`` where it does not apply (CUDA, ``MEMLEARN_NUMBA=0``, streams over 64 slots)."""
    s = trains
    if not (_numba.usable(s.level_x, s.level_d) and _packable(s)):
        return None
    wx, ax, kx, wd, ad, kd, events = pack_trains(s.pool_x.numpy(), s.pool_d.numpy(), s.level_x.numpy(),
                                                 s.level_d.numpy(), s.lengths.numpy())
    return Coincidences(wx, ax, kx, wd, ad, kd, s.sign_x.numpy(), s.sign_d.numpy(), s.level_x.shape[1], int(events))


def stochastic_counts(x: Tensor, d: Tensor, lr: float, dw_min: float, bl: int, generator: torch.Generator, *,
                      update_management: bool = True, bl_management: bool = True,
                      per_sample: bool = False) -> Tensor:
    """Signed coincidence counts of stochastic pulse trains (Gokmen & Vlasov 2016, Eq. 5-6).

    Each sample's ``x`` and ``d`` become bit streams of length BL with ``p_x = c_x |x|`` and
    ``p_d = c_d |d|`` (:func:`management_scales`); device ``(j, i)`` receives one pulse of sign
    ``-sign(d_j x_i)`` per coincidence, so ``E[n_ji] dw_min = -lr d_j x_i`` while no probability
    saturates. The counts are the dense view of :func:`stochastic_events` (what the rule writes).

    Args:
        x: (batch, in); d: (batch, out); lr: learning rate; dw_min: weight change of one pulse.
        bl: maximum stream length (pulses per update).
        per_sample: False sums the counts over the batch, (out, in); True keeps them per sample,
            (batch, out, in) (memory grows with the batch: the rule writes the sparse events).

    Returns:
        int32 counts, (out, in) or (batch, out, in).
    """
    w_index, n, lengths = stochastic_events(x, d, lr, dw_min, bl, generator, update_management=update_management,
                                            bl_management=bl_management, per_sample=per_sample)
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
