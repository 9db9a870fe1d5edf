"""N-way K-shot episodes from any labelled data set."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class Episode:
    """One few-shot task; labels are relabelled ``0..n_way-1`` in a random order.

    Shapes: support (n_way * k_shot, features), query (n_way * n_query, features).
    """

    x_support: Tensor
    y_support: Tensor
    x_query: Tensor
    y_query: Tensor


class EpisodeSampler:
    """Draws N-way K-shot episodes (Vinyals et al., "Matching Networks for One Shot Learning",
    NeurIPS 2016): ``n_way`` classes from ``classes``, ``k_shot`` support and ``n_query`` query
    examples of each, disjoint.

    Args:
        x: inputs (n, features); y: integer labels (n,).
        classes: the class ids episodes may use (held-out classes for meta-testing).
        n_way, k_shot, n_query: episode shape (each >= 1); every class needs ``k_shot + n_query`` examples.
    """

    def __init__(self, x: Tensor, y: Tensor, classes: list[int] | tuple[int, ...], n_way: int, k_shot: int,
                 n_query: int) -> None:
        classes = sorted({int(c) for c in classes})
        if n_way < 1 or len(classes) < n_way:
            raise ValueError(f"n_way={n_way!r} must be >= 1 and <= the {len(classes)} available classes")
        if k_shot < 1 or n_query < 1:
            raise ValueError(f"k_shot={k_shot!r} and n_query={n_query!r} must be >= 1")
        self.x, self.n_way, self.k_shot, self.n_query = x, int(n_way), int(k_shot), int(n_query)
        y = y.cpu()  # index tables live on the CPU with the generator; episodes move to x's device
        self.classes = torch.tensor(classes)
        counts = torch.stack([(y == c).sum() for c in classes])
        need = self.k_shot + self.n_query
        if int(counts.min()) < need:
            raise ValueError(f"class {classes[int(counts.argmin())]} has {int(counts.min())} examples; "
                             f"k_shot + n_query = {need} needed")
        # (classes, max_count) table of example indices, padded by repeating (never drawn past count).
        width = int(counts.max())
        self._index = torch.stack([torch.nonzero(y == c).flatten().repeat(width)[:width] for c in classes])
        self._counts = counts

    def sample(self, generator: torch.Generator) -> Episode:
        """One episode (CPU generator; tensors on the data's device)."""
        pick = torch.randperm(len(self.classes), generator=generator)[:self.n_way]
        need = self.k_shot + self.n_query
        # Random order of each chosen class's examples: argsort of uniform keys, padding sorted last.
        keys = torch.rand(self.n_way, self._index.shape[1], generator=generator)
        pad = torch.arange(self._index.shape[1])[None, :] >= self._counts[pick][:, None]
        keys = keys.masked_fill(pad, 2.0)
        rows = self._index[pick].gather(1, keys.argsort(dim=1)[:, :need])
        labels = torch.arange(self.n_way)[:, None].expand(-1, need)
        dev = self.x.device
        sup, qry = rows[:, :self.k_shot].reshape(-1).to(dev), rows[:, self.k_shot:].reshape(-1).to(dev)
        return Episode(self.x[sup], labels[:, :self.k_shot].reshape(-1).to(dev),
                       self.x[qry], labels[:, self.k_shot:].reshape(-1).to(dev))
