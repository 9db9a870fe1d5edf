"""Pulses: what a learning rule returns and a tile writes (signed pulse counts per weight)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from memlearn.periphery.line_trains import LineTrains
from memlearn.periphery.pulse_coding import train_events


@dataclass(frozen=True)
class Pulses:
    """Signed weight pulses for one update of a tile of ``shape`` (out, in), as rules return
    them (optax's "updates"): the rule decides them, :meth:`memlearn.nn.tile.AnalogTile.write`
    sends them through the mapping to the crossbar, the one place where a pulse changes a
    conductance and where pulses, energy and wear are counted.

    One type, three layouts:

    * dense (``index is None``): ``counts`` (out, in), one write of every weight at once;
    * events: ``lengths[k]`` consecutive events of ``index`` (flat into (out, in), distinct within
      a write) and ``counts`` (same length) form write ``k``; the writes are applied in turn (for
      example one per sample, aihwkit's per-sample semantics), at a cost that grows with the
      pulsed weights only;
    * trains: the pulse trains a stochastic update drives on the input and error lines
      (:class:`memlearn.periphery.pulse_coding.LineTrains`), one write per sample; a weight's
      count is the coincidences of its two lines. The tile writes them in one compiled pass where
      it can, else as their events (:meth:`as_events`, the same writes). ``counts`` and
      ``index`` are those events, formed on first use.

    Build them with :meth:`dense`, :meth:`events`, :meth:`trains` or :meth:`none`.
    """

    counts: Tensor
    """Signed integer pulse counts: (out, in) dense, or one per event."""
    index: Tensor | None = None
    """Flat weight index of every event (int64, 1-D); None for the dense layout."""
    lengths: tuple[int, ...] = ()
    """Events per consecutive write (events layout only)."""
    line_trains: LineTrains | None = None
    """The per-sample line trains (trains layout only)."""

    @classmethod
    def dense(cls, counts: Tensor) -> "Pulses":
        """Counts (out, in) applied to every weight in one write."""
        return cls(counts)

    @classmethod
    def events(cls, index: Tensor, counts: Tensor, lengths) -> "Pulses":
        """Sparse events in consecutive writes of ``lengths`` events each."""
        return cls(counts, index, tuple(int(k) for k in lengths))

    @classmethod
    def trains(cls, trains: LineTrains) -> "Pulses":
        """Per-sample line pulse trains, one write per sample (see the class docstring)."""
        return cls(torch.zeros(0, dtype=torch.int32), None, (), trains)

    def as_events(self) -> "Pulses":
        """The events layout of these pulses (itself unless they are trains)."""
        if self.line_trains is None:
            return self
        return Pulses.events(*train_events(self.line_trains, per_sample=True))

    @classmethod
    def none(cls, device: torch.device | str | None = None) -> "Pulses":
        """No pulse at all (nothing is written)."""
        return cls(torch.zeros(0, dtype=torch.int32, device=device), torch.zeros(0, dtype=torch.int64, device=device))

    @property
    def is_dense(self) -> bool:
        return self.index is None and self.line_trains is None

    @property
    def n_writes(self) -> int:
        """Consecutive writes this value makes (1 dense; one per sample for trains; 0 for :meth:`none`)."""
        if self.line_trains is not None:
            return self.line_trains.batch
        return 1 if self.index is None else len(self.lengths)
