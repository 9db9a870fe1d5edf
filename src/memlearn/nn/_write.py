"""A tile's writes: pulses through the mapping to the crossbar, the weight scale and target
conductances of non-pulse programming, and the nominal weight step ``dw_min``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

from memlearn.nn.pulses import Pulses
from memlearn.periphery.line_trains import LineTrains
from memlearn.periphery.pulse_coding import packed_coincidences

if TYPE_CHECKING:
    from memlearn.nn.tile import AnalogTile


class EventTable:
    """The mapping's device events of every weight, built once per torch device: ``index``
    (weights, k) devices of each weight and ``sign`` (weights, k) the sign of their pulses relative
    to the weight's (None when all are +1). One gather per event then replaces the index arithmetic."""

    def __init__(self) -> None:
        self._table: tuple[Tensor, Tensor | None] | None = None
        self._columns: tuple[tuple[Tensor, ...], tuple[Tensor, ...] | None] | None = None
        self._input_major: tuple[Tensor, Tensor | None] | None = None

    def gather(self, tile: "AnalogTile", w_index: Tensor) -> tuple[Tensor, Tensor | None, int]:
        """The device events of the weights ``w_index``, flat and weight by weight: ``(index, sign,
        k)`` with ``index``/``sign`` of length ``k * len(w_index)``. One 1-D gather per device of a
        weight: a row gather of the (weights, k) table is several times slower on CPU."""
        index, sign = self.get(tile)
        if self._columns is None or self._columns[0][0].device != index.device:
            self._columns = (tuple(c.contiguous() for c in index.unbind(1)),
                             None if sign is None else tuple(c.contiguous() for c in sign.unbind(1)))
        cols, sign_cols = self._columns
        k = len(cols)

        def take(columns: tuple[Tensor, ...]) -> Tensor:
            if k == 1:
                return columns[0].index_select(0, w_index)
            return torch.stack([c.index_select(0, w_index) for c in columns], dim=1).view(-1)

        return take(cols), None if sign_cols is None else take(sign_cols), k

    def input_major(self, tile: "AnalogTile") -> tuple[Tensor, Tensor | None]:
        """The table as (in, out, k), contiguous: the order in which a coincidence write visits
        the weights (inputs outer), so that its reads of the table are sequential."""
        index, sign = self.get(tile)
        cached = self._input_major
        if cached is None or cached[0].device != index.device:
            shape = (tile.out_features, tile.in_features, index.shape[1])
            cached = self._input_major = tuple(None if t is None else t.view(shape).transpose(0, 1).contiguous()
                                               for t in (index, sign))
        return cached

    def get(self, tile: "AnalogTile") -> tuple[Tensor, Tensor | None]:
        device = tile.array.g.device
        table = self._table
        if table is None or table[0].device != device:
            n_weights = tile.out_features * tile.in_features
            index, sign, k = tile.config.mapping.device_events(
                torch.arange(n_weights, device=device), torch.ones(n_weights, dtype=torch.int32, device=device),
                tile.out_features, tile.in_features)
            sign = sign.view(n_weights, k).to(torch.int32)
            table = self._table = (index.view(n_weights, k), None if bool((sign == 1).all()) else sign)
            self._columns = self._input_major = None
        return table


def write_dense(tile: "AnalogTile", n_w: Tensor) -> Tensor:
    """Signed per-weight pulse counts (out, in) in one write through the mapping; returns pulses applied."""
    if n_w.shape != (tile.out_features, tile.in_features):
        raise ValueError(f"pulse counts have shape {tuple(n_w.shape)}, tile is {(tile.out_features, tile.in_features)}")
    return tile.array.apply_pulses(tile.config.mapping.device_pulses(n_w), tile.generator)


def write_events(tile: "AnalogTile", w_index: Tensor, n: Tensor, lengths) -> Tensor:
    """Sparse weight pulses as consecutive writes (see :class:`Pulses`); returns pulses applied."""
    if w_index.dtype not in (torch.int64, torch.int32) or w_index.ndim != 1:
        raise TypeError(f"{tile.name}: weight indices must be a 1-D int64 tensor, got {w_index.dtype} "
                        f"of shape {tuple(w_index.shape)}")
    w_index = w_index.long()
    n_weights = tile.out_features * tile.in_features
    if w_index.numel() and not (0 <= int(w_index.min()) and int(w_index.max()) < n_weights):
        raise ValueError(f"weight indices must lie in [0, {n_weights})")
    index, sign, k = tile.event_table.gather(tile, w_index)
    counts = n.repeat_interleave(k) if k > 1 else n
    if sign is not None:
        counts = counts * sign
    return tile.array.apply_pulse_sequence(index, counts, [k * length for length in lengths], tile.generator)


def write_trains(tile: "AnalogTile", trains: LineTrains) -> Tensor:
    """Per-sample line pulse trains: packed and written in one compiled pass where the array
    allows it (``Crossbar.apply_coincidences``), else as their listed events (the same writes,
    draws and counts); returns the pulses applied."""
    array = tile.array
    if trains.level_x.shape[1] != tile.in_features or trains.level_d.shape[1] != tile.out_features:
        raise ValueError(f"{tile.name}: pulse trains are for a {trains.level_d.shape[1]}x{trains.level_x.shape[1]} "
                         f"layer, tile is {tile.out_features}x{tile.in_features}")
    packed = packed_coincidences(trains) if array.writes_coincidences() else None
    if packed is None:
        events = Pulses.trains(trains).as_events()
        return write_events(tile, events.index, events.counts, list(events.lengths))
    index, sign = tile.event_table.input_major(tile)
    return array.apply_coincidences(packed, index, sign, tile.generator)


def write(tile: "AnalogTile", pulses: Pulses) -> Tensor:
    """Apply ``pulses`` (any layout) to ``tile``; returns the pulses applied."""
    if pulses.line_trains is not None:
        return write_trains(tile, pulses.line_trains)
    if pulses.index is None:
        return write_dense(tile, pulses.counts)
    return write_events(tile, pulses.index, pulses.counts, list(pulses.lengths))


def weight_targets(tile: "AnalogTile", w: Tensor) -> Tensor:
    """Set the weight scale of ``tile`` for ``w`` (out, in) and return its target conductances."""
    if w.shape != (tile.out_features, tile.in_features):
        raise ValueError(f"{tile.name}: weights have shape {tuple(w.shape)}, tile is {(tile.out_features, tile.in_features)}")
    mapping = tile.config.mapping
    w = w.detach().to(tile.array.g)
    if mapping.scale == "column":
        scale = w.abs().amax(dim=1)
    elif mapping.scale == "tile":
        scale = w.abs().amax().expand(tile.out_features)
    else:
        scale = torch.full_like(tile.w_scale, mapping.w_max)
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    tile.w_scale.copy_(scale)
    return mapping.targets(w / scale[:, None], tile._g_min, tile._g_max)


class NominalStep:
    """``dw_min``: the nominal weight change of one +1 weight pulse on a weight at zero (mean over
    devices), cached until a device parameter or the weight scale changes."""

    def __init__(self) -> None:
        self._entry: tuple[tuple, float] | None = None

    def get(self, tile: "AnalogTile") -> float:
        array = tile.array
        key = tuple((b.data_ptr(), b._version) for b in array.own_buffers() if b is not array.g
                    and b is not array.n_writes) + ((tile.w_scale.data_ptr(), tile.w_scale._version),)
        if self._entry is not None and self._entry[0] == key:
            return self._entry[1]
        state = array.state
        response = tile.config.device.response
        mid = (state.g_min + state.g_max) / 2
        up = float(response.step_at(mid, state.params, up=True).abs().mean())
        down = float(response.step_at(mid, state.params, up=False).abs().mean())
        value = float(tile.w_scale.mean()) * tile.config.mapping.pulse_weight_change(up, down, tile.g_range)
        self._entry = (key, value)
        return value

    def clear(self) -> None:
        self._entry = None
