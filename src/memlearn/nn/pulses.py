"""Pulses: what a learning rule returns and a tile writes (signed pulse counts per weight)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class Pulses:
    """Signed weight pulses for one update of a tile of ``shape`` (out, in), as rules return
    them (optax's "updates"): the rule decides them, :meth:`memlearn.nn.tile.AnalogTile.write`
    sends them through the mapping to the crossbar, the one place where a pulse changes a
    conductance and where pulses, energy and wear are counted.

    One type, two layouts:

    * dense (``index is None``): ``counts`` (out, in), one write of every weight at once;
    * events: ``lengths[k]`` consecutive events of ``index`` (flat into (out, in), distinct within
      a write) and ``counts`` (same length) form write ``k``; the writes are applied in turn (for
      example one per sample, aihwkit's per-sample semantics), at a cost that grows with the
      pulsed weights only.

    Build them with :meth:`dense`, :meth:`events` or :meth:`none`.
    """

    counts: Tensor
    """Signed integer pulse counts: (out, in) dense, or one per event."""
    index: Tensor | None = None
    """Flat weight index of every event (int64, 1-D); None for the dense layout."""
    lengths: tuple[int, ...] = ()
    """Events per consecutive write (events layout only)."""

    @classmethod
    def dense(cls, counts: Tensor) -> "Pulses":
        """Counts (out, in) applied to every weight in one write."""
        return cls(counts)

    @classmethod
    def events(cls, index: Tensor, counts: Tensor, lengths) -> "Pulses":
        """Sparse events in consecutive writes of ``lengths`` events each."""
        return cls(counts, index, tuple(int(k) for k in lengths))

    @classmethod
    def none(cls, device: torch.device | str | None = None) -> "Pulses":
        """No pulse at all (nothing is written)."""
        return cls(torch.zeros(0, dtype=torch.int32, device=device), torch.zeros(0, dtype=torch.int64, device=device))

    @property
    def is_dense(self) -> bool:
        return self.index is None

    @property
    def n_writes(self) -> int:
        """Consecutive writes this value makes (1 dense; 0 for :meth:`none`)."""
        return 1 if self.index is None else len(self.lengths)
