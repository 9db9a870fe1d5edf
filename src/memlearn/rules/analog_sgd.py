"""AnalogSGD: a torch.optim optimizer whose analog weights change only through pulses."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from memlearn.crossbar.cost import model_cost
from memlearn.crossbar.crossbar import Crossbar
from memlearn.devices.state import WORN_OUT
from memlearn.nn.tile import AnalogTile
from memlearn.rules.rule import Rule, apply_update
from memlearn.rules.update_request import UpdateRequest


class AnalogSGD(torch.optim.Optimizer):
    """SGD over a model with analog tiles.

    Digital parameters (biases, norms) take a plain SGD step. Each analog tile's pending
    ``(x, d)`` from the last backward becomes an :class:`UpdateRequest` that ``rule`` turns into
    pulses, which the tile writes (:func:`memlearn.rules.rule.apply_update`). Use it like any torch optimizer: ``loss.backward(); opt.step(); opt.zero_grad()``;
    learning-rate schedulers act on ``param_groups[0]["lr"]``, which the analog requests use too.
    :meth:`accounting` reports the pulses, energy and wear since its previous call (per epoch).

    Args:
        model: the module holding analog layers.
        lr: learning rate for both analog and digital parameters.
        rule: the update rule for analog tiles.
    """

    def __init__(self, model: nn.Module, lr: float, rule: Rule) -> None:
        if not lr > 0:
            raise ValueError(f"lr={lr!r} must be > 0")
        self.model = model
        self.tiles = [m for m in model.modules() if isinstance(m, AnalogTile)]
        params = [p for p in model.parameters() if p.requires_grad]
        super().__init__(params if params else [torch.zeros(0, requires_grad=True)], dict(lr=lr))
        self.rule = rule
        self.rule_states: list[Any] = [rule.init(t) for t in self.tiles]
        self._writes_seen = [a.n_writes.clone() for a in self.arrays()]
        self._energy_seen = self._model_energy()

    @torch.no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.add_(p.grad, alpha=-group["lr"])
        lr = self.param_groups[0]["lr"]
        for i, tile in enumerate(self.tiles):
            if tile.pending is None:
                continue
            x, d = tile.pending
            x2, d2 = x.reshape(-1, x.shape[-1]), d.reshape(-1, d.shape[-1])
            self.rule_states[i] = apply_update(self.rule, UpdateRequest(x2, d2, lr), tile, self.rule_states[i],
                                               tile.generator)
            tile.pending = None
        return loss

    def arrays(self) -> list[Crossbar]:
        """Every crossbar the optimizer writes: the tiles' arrays and those in rule states."""
        out = [t.array for t in self.tiles]
        for state in self.rule_states:
            out.extend(self.rule.arrays(state))
        return out

    def _model_energy(self) -> float:
        """Total write energy (J) of the model's tiles (``memlearn.crossbar.cost.model_cost``)."""
        return float(model_cost(self.model).energy_write)

    @torch.no_grad()
    def accounting(self, n_bins: int = 16) -> dict:
        """Pulses, energy and wear since the previous call (call once per epoch).

        Returns a JSON-serialisable dict:
            ``pulses``: total programming pulses on every array (tiles and rule arrays);
            ``pulses_per_device_mean`` / ``_max``: over all devices;
            ``histogram``: ``{"edges", "counts"}``, devices by pulses received, bins
            ``[0], [1], [2, 3], [4, 7], ...`` (powers of two; the last bin is open);
            ``write_energy``: programming energy (J) of the model's tiles over the interval, from
            ``memlearn.crossbar.cost`` (arrays held by rules, e.g. Tiki-Taka's A, are not in it);
            ``worn_out``: devices past their endurance budget (cumulative, not per interval);
            ``n_devices``: devices in all arrays.
        """
        arrays = self.arrays()
        if len(arrays) != len(self._writes_seen):
            self._writes_seen = [torch.zeros_like(a.n_writes) for a in arrays]
        per_device = [(a.n_writes - seen).reshape(-1) for a, seen in zip(arrays, self._writes_seen)]
        self._writes_seen = [a.n_writes.clone() for a in arrays]
        writes = torch.cat(per_device) if per_device else torch.zeros(0, dtype=torch.int64)
        edges = [0] + [2**k for k in range(n_bins - 1)]
        bins = torch.bucketize(writes, torch.tensor(edges, device=writes.device), right=True) - 1
        counts = torch.bincount(bins, minlength=len(edges))
        energy = self._model_energy()
        interval = energy - self._energy_seen
        self._energy_seen = energy
        worn = sum(int((a.state.fault == WORN_OUT).sum()) for a in arrays)
        n = int(writes.numel())
        return {
            "pulses": int(writes.sum()),
            "pulses_per_device_mean": float(writes.sum()) / max(n, 1),
            "pulses_per_device_max": int(writes.max()) if n else 0,
            "histogram": {"edges": edges, "counts": [int(c) for c in counts.tolist()]},
            "write_energy": interval,
            "worn_out": worn,
            "n_devices": n,
        }
