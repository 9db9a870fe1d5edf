"""Tiki-Taka: gradients go into a fast array A, periodically transferred column by column into C."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from memlearn.crossbar.crossbar import Crossbar
from memlearn.validation import check_range
from memlearn.nn.pulses import Pulses
from memlearn.nn.tile import AnalogTile
from memlearn.rules.deterministic import DeterministicPulse
from memlearn.rules.rule import Rule, apply_update
from memlearn.rules.stochastic import StochasticPulse
from memlearn.rules.update_request import UpdateRequest


@dataclass(frozen=True, kw_only=True)
class TikiTaka(Rule):
    """Tiki-Taka of Gokmen & Haensch, Front. Neurosci. 2020 ("Algorithm for training neural
    networks on resistive device arrays"), Algorithm 1 with ``gamma = 0`` (the network reads C).

    The gradient ``-lr d^T x`` is written with ``rule`` into a second array A of the same size,
    device model and periphery as the tile C. Every ``transfer_every`` updates,
    ``columns_per_transfer`` columns of A are read through A's own forward read path (an MVM with
    one-hot inputs ``e_k``, so read noise and ADC apply), and written into C with
    ``transfer_rule`` as ``dW_C[:, k] = transfer_lr (A[:, k] - A0[:, k])`` (request ``x = e_k``,
    ``d = -(A[:, k] - A0[:, k])``), cycling through the columns.

    ``A0`` is A's symmetry point: before training, ``symmetry_cycles`` alternating up/down pulses
    drive every device of A to the conductance where its up and down steps balance, and that
    state is read once as the reference (zero-shifting, Kim et al., "Zero-shifting technique for
    deep neural network training on resistive cross-point arrays", arXiv:1907.10228, 2019). With
    asymmetric devices A then decays toward zero between transfers: that decay is the low-pass
    filter on the gradient which lets training converge where plain SGD drifts to the devices'
    symmetry points (Gokmen & Haensch 2020, Sec. 2).

    A is the rule's own tile: its pulses are written through :func:`apply_update` inside
    :meth:`update`; the transfer's pulses for C are the value :meth:`update` returns.

    State: ``{"a": AnalogTile, "a_ref": (out, in), "a_state", "c_state", "column", "step", "transferred"}``.
    """

    rule: Rule = field(default_factory=StochasticPulse)
    """How gradients are written into A."""
    transfer_rule: Rule = field(default_factory=DeterministicPulse)
    """How read columns of A are written into C."""
    transfer_every: int = 1
    """Updates between two transfers (>= 1)."""
    columns_per_transfer: int = 1
    """Columns of A read and transferred at each transfer (>= 1)."""
    transfer_lr: float = 0.1
    """Scale of a transferred column: ``dW_C = transfer_lr * (A - A0)[:, k]`` (dimensionless, > 0)."""
    symmetry_cycles: int = 100
    """Alternating up/down pulse pairs applied to A before training (0 = none, reference at the
    programmed zero); the pulses count towards A's write budget."""

    def __post_init__(self) -> None:
        check_range("transfer_every", self.transfer_every, 1, 1e9)
        check_range("columns_per_transfer", self.columns_per_transfer, 1, 1e9)
        check_range("transfer_lr", self.transfer_lr, 1e-12, 1e6)
        check_range("symmetry_cycles", self.symmetry_cycles, 0, 1e6)

    def init(self, tile: AnalogTile) -> dict:
        device = tile.array.g.device
        seed = int(torch.randint(0, 2**62, (1,), generator=tile.generator, device=tile.generator.device))
        a = AnalogTile(tile.in_features, tile.out_features, tile.config, seed=seed, device=device)
        shape = (tile.out_features, tile.in_features)
        a.set_weights_exact(torch.zeros(shape, device=device))
        one = torch.ones(shape, dtype=torch.int32, device=device)
        up, down = Pulses.dense(one), Pulses.dense(-one)
        for _ in range(self.symmetry_cycles):
            a.write(up)
            a.write(down)
        with torch.no_grad():
            a_ref = a.forward_circuit(torch.eye(tile.in_features, device=device)).T.contiguous()
        return {"a": a, "a_ref": a_ref, "a_state": self.rule.init(a), "c_state": self.transfer_rule.init(tile),
                "column": 0, "step": 0, "transferred": False}

    def update(self, request: UpdateRequest, tile: AnalogTile, state: dict,
               generator: torch.Generator) -> tuple[Pulses, dict]:
        a: AnalogTile = state["a"]
        a_state = apply_update(self.rule, request, a, state["a_state"], generator)  # A: the rule's own array
        step, column, c_state = state["step"] + 1, state["column"], state["c_state"]
        pulses = Pulses.none(request.x.device)
        if step % self.transfer_every == 0:
            n_cols = min(self.columns_per_transfer, tile.in_features)
            cols = (torch.arange(n_cols, device=request.x.device) + column) % tile.in_features
            e = torch.zeros(n_cols, tile.in_features, device=request.x.device, dtype=request.x.dtype)
            e[torch.arange(n_cols, device=e.device), cols] = 1.0
            with torch.no_grad():
                read = a.forward_circuit(e) - state["a_ref"][:, cols].T  # (n_cols, out): A - A0 through A's read path
            pulses, c_state = self.transfer_rule.update(UpdateRequest(e, -read, self.transfer_lr), tile, c_state,
                                                        generator)
            column = (column + n_cols) % tile.in_features
        return pulses, {**state, "a_state": a_state, "c_state": c_state, "column": column, "step": step,
                        "transferred": pulses.n_writes > 0}

    def written(self, state: dict, tile: AnalogTile) -> dict:
        if not state["transferred"]:
            return state
        return {**state, "c_state": self.transfer_rule.written(state["c_state"], tile), "transferred": False}

    def arrays(self, state: dict) -> list[Crossbar]:
        return [state["a"].array] + self.rule.arrays(state["a_state"]) + self.transfer_rule.arrays(state["c_state"])
