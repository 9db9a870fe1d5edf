"""The Rule interface: how an UpdateRequest becomes pulses, and the one driver that writes them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch

from memlearn.crossbar.crossbar import Crossbar
from memlearn.nn.pulses import Pulses
from memlearn.nn.tile import AnalogTile
from memlearn.rules.update_request import UpdateRequest


class Rule(ABC):
    """An update rule, after optax's design: an immutable config (the dataclass fields), explicit
    state from ``init``, and ``update`` returning ``(pulses, new_state)``, as an optax transform
    returns its updates.

    A rule reads the tile (sizes, ``dw_min``, ``weights()``) but never writes it: the
    :class:`Pulses` it returns reach the devices through :func:`apply_update` -> ``tile.write`` ->
    mapping -> crossbar -> ``Device``, the one place where a pulse changes a conductance and is
    counted. Arrays a rule owns in its state (Tiki-Taka's A) are written through the same seam.
    """

    @abstractmethod
    def init(self, tile: AnalogTile) -> Any:
        """Rule state for one tile (a dict of tensors, or None)."""

    @abstractmethod
    def update(self, request: UpdateRequest, tile: AnalogTile, state: Any,
               generator: torch.Generator) -> tuple[Pulses, Any]:
        """The pulses that write ``request`` on ``tile``, and the new rule state."""

    def written(self, state: Any, tile: AnalogTile) -> Any:
        """The state once the tile has written the pulses of the last :meth:`update` (for rules
        that read back what the devices did); the state unchanged by default."""
        return state

    def arrays(self, state: Any) -> list[Crossbar]:
        """Crossbars the rule holds in ``state`` besides the tile's own (for pulse and wear
        accounting); none by default."""
        return []


class Transform(ABC):
    """A digital pre-transform of update requests (optax's ``GradientTransformation``), composed
    in front of a rule with :func:`memlearn.rules.chain`."""

    @abstractmethod
    def init(self, tile: AnalogTile) -> Any:
        """Transform state for one tile (or None)."""

    @abstractmethod
    def update(self, request: UpdateRequest, tile: AnalogTile, state: Any,
               generator: torch.Generator) -> tuple[UpdateRequest, Any]:
        """Return the transformed request and the new state."""


class PulseTransform(ABC):
    """A transform of a rule's pulses (gating, sparsification), composed after the rule with
    :func:`memlearn.rules.chain`: ``chain(rule, pulse_transform)``."""

    @abstractmethod
    def init(self, tile: AnalogTile) -> Any:
        """Transform state for one tile (or None)."""

    @abstractmethod
    def update(self, pulses: Pulses, request: UpdateRequest, tile: AnalogTile, state: Any,
               generator: torch.Generator) -> tuple[Pulses, Any]:
        """Return the transformed pulses (for ``request``) and the new state."""

    def written(self, state: Any, tile: AnalogTile) -> Any:
        """The state once the tile has written the transformed pulses; unchanged by default."""
        return state


def apply_update(rule: Rule, request: UpdateRequest, tile: AnalogTile, state: Any, generator: torch.Generator) -> Any:
    """Drive one update: ``rule`` turns ``request`` into pulses, ``tile`` writes them, the rule
    sees the result; returns the new rule state. ``AnalogSGD``, EP and the meta-learner all
    write through this function."""
    pulses, state = rule.update(request, tile, state, generator)
    if pulses.n_writes:
        tile.write(pulses)
    return rule.written(state, tile)
