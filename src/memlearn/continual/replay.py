"""A small replay buffer in digital memory (tiny episodic memory)."""

from __future__ import annotations

import torch
from torch import Tensor


class ReplayBuffer:
    """Keeps up to ``capacity`` past samples, split evenly across the tasks seen so far (the ring
    buffer of Chaudhry et al., "On Tiny Episodic Memories in Continual Learning", arXiv 2019).

    Each sample keeps its output mask, so task-incremental replay stays masked. The buffer lives
    in digital SRAM next to the chip; :attr:`memory_bits` counts it at ``bits_per_value`` per input
    value plus 8 bits per label and one bit per output of the mask.

    Args:
        capacity: samples kept (>= 0).
        bits_per_value: storage precision of one input value (>= 1, 8 = 8-bit pixels).
    """

    def __init__(self, capacity: int, bits_per_value: int = 8) -> None:
        if capacity < 0:
            raise ValueError(f"capacity={capacity!r} must be >= 0")
        if bits_per_value < 1:
            raise ValueError(f"bits_per_value={bits_per_value!r} must be >= 1")
        self.capacity, self.bits_per_value = int(capacity), int(bits_per_value)
        self._tasks: list[tuple[Tensor, Tensor, Tensor]] = []

    def __len__(self) -> int:
        return sum(int(x.shape[0]) for x, _, _ in self._tasks)

    @property
    def memory_bits(self) -> int:
        """Bits of digital memory the full buffer occupies."""
        if not self._tasks:
            return 0
        x, _, m = self._tasks[0]
        return self.capacity * (int(x.shape[1]) * self.bits_per_value + 8 + int(m.shape[1]))

    def add_task(self, x: Tensor, y: Tensor, mask: Tensor, generator: torch.Generator) -> None:
        """Store a random subset of a finished task and shrink the older tasks' shares.

        Args:
            x: (n, features) inputs; y: (n,) labels; mask: (n_outputs,) or (n, n_outputs) usable outputs.
        """
        share = self.capacity // (len(self._tasks) + 1)
        self._tasks = [(xs[:share], ys[:share], ms[:share]) for xs, ys, ms in self._tasks]
        keep = torch.randperm(int(x.shape[0]), generator=generator)[:share].to(x.device)
        m = mask.expand(int(x.shape[0]), -1) if mask.ndim == 1 else mask
        self._tasks.append((x[keep], y[keep], m[keep]))

    def sample(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor] | None:
        """``n`` samples drawn uniformly with replacement, or None when empty."""
        if len(self) == 0 or n < 1:
            return None
        x = torch.cat([t[0] for t in self._tasks])
        y = torch.cat([t[1] for t in self._tasks])
        m = torch.cat([t[2] for t in self._tasks])
        idx = torch.randint(int(x.shape[0]), (n,), generator=generator).to(x.device)
        return x[idx], y[idx], m[idx]
