"""A tile's read cache: drift-only read statistics of the arrays, kept until the next write or state change."""

from __future__ import annotations

import dataclasses
import operator
from functools import partial
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from memlearn.crossbar.tiling import Int8Weights
from memlearn.periphery.weight_read import ReadStatistics, variance_dtype

if TYPE_CHECKING:
    from memlearn.nn.tile import AnalogTile

_VERSION = operator.attrgetter("_version")


class ReadCache:
    """The :class:`ReadStatistics` of one tile, rebuilt when its key changes: the read time and
    every array buffer (its in-place version and storage), so any write or state change
    invalidates them. The weight-sized buffers are kept between rebuilds."""

    def __init__(self) -> None:
        self._entry: tuple[tuple, ReadStatistics] | None = None
        self._buffers: dict[str, Tensor] = {}
        self.reads = 0
        """How many reads the current statistics have served (this one included)."""

    def clear(self) -> None:
        """Forget the statistics and the buffers (after a move to another device or dtype)."""
        self._entry, self._buffers, self.reads = None, {}, 0

    @property
    def current(self) -> ReadStatistics | None:
        """The statistics held now (None before the first read), without a read or a rebuild."""
        return None if self._entry is None else self._entry[1]

    @staticmethod
    def key(tile: "AnalogTile") -> tuple:
        buffers = tile.array.own_buffers()
        return (tile.read_time, *map(_VERSION, buffers), *map(Tensor.data_ptr, buffers))

    def statistics(self, tile: "AnalogTile") -> ReadStatistics:
        key = self.key(tile)
        if self._entry is not None and self._entry[0] == key:
            self.reads += 1
            return self._entry[1]
        stats = self._build(tile)
        self._entry, self.reads = (key, stats), 1
        return stats

    def _build(self, tile: "AnalogTile") -> ReadStatistics:
        """Drift-only read of the array (noise is drawn per MVM); the power sums follow lazily."""
        array, mapping, part = tile.array, tile.config.mapping, tile.partition
        model = array.device_model
        noise = model.read_noise
        state = array.state if noise is not None or tile.read_time is not None else None
        # without a read time nothing drifts: the conductances are read as programmed
        g = array.g if tile.read_time is None else model.read(array.g, state, tile.read_time, None)
        mean = self._padded_buffer(tile, "mean", g)
        if part.padded_in != tile.in_features or part.padded_out != tile.out_features:
            mapping.normalised(g, tile._g_min, tile._g_max, tile.out_features,
                               out=mean[:tile.in_features, :tile.out_features])
        else:
            mapping.normalised(g, tile._g_min, tile._g_max, tile.out_features, out=mean)
        std = None
        if noise is not None:
            std = part.pad_weights(mapping.normalised_std(noise.std(g, state.g_max), tile.g_range,
                                                          tile.out_features)).contiguous()
        var = None
        if std is not None and tile.sampler.per_vector:  # cached low-precision sigma^2 for (u^2) @ sigma^2
            var = std.square().to(variance_dtype(std.device)).contiguous()
        return ReadStatistics(mean=mean, std=std, conductance=g,
                              column_sums=partial(mapping.column_sums, out_features=tile.out_features), var=var)

    def _padded_buffer(self, tile: "AnalogTile", name: str, like: Tensor) -> Tensor:
        """A zeroed (padded_in, padded_out) buffer in ``like``'s dtype and device, kept between
        rebuilds: the statistics are rewritten after every training step, and a fresh weight-sized
        tensor costs page faults on CPU. Only the (in, out) block is ever written; the padding stays 0."""
        part = tile.partition
        b = self._buffers.get(name)
        if b is None or b.dtype != like.dtype or b.device != like.device:
            b = self._buffers[name] = torch.zeros((part.padded_in, part.padded_out), dtype=like.dtype,
                                                  device=like.device)
        return b

    def with_int8(self, stats: ReadStatistics, out_features: int, moment_matched: bool) -> ReadStatistics:
        """``stats`` with the int8 weight digits of the integer-level forward read, built on first
        use and kept with the statistics (until the next write or read-time change)."""
        if stats.int8 is not None:
            return stats
        n = out_features
        mean, std = stats.mean[:, :n], None if stats.std is None else stats.std[:, :n]
        int8_pm = None
        if std is not None and moment_matched:
            int8_pm = Int8Weights.split(mean - std, mean + std)
        stats = dataclasses.replace(stats, int8=Int8Weights.split(mean)[0], int8_pm=int8_pm)
        self._entry = (self._entry[0], stats)
        return stats
