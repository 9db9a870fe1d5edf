"""Resume for every experiment kind: a run is a sequence of named stages, checkpointed after each.

A kind splits its work into stages (an epoch, a strategy, a device, a k-shot setting) whose results
are plain data (numbers, lists, dicts, tensors). After each stage :class:`Stages` saves one
``checkpoint.pt`` holding every finished stage's result, the state the next stage continues from
(``state``: model weights, generator states ...), the global torch RNG and the length and SHA-256 of
``metrics.jsonl``. Started again on the folder, finished stages are not recomputed: their results come
from the checkpoint, ``metrics.jsonl`` is cut back to what was written before that checkpoint (after
checking it is intact), and the first unfinished stage runs again from the saved state, so the run
ends with the same files, byte for byte, as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Callable

import torch

from memlearn.experiments.storage import CorruptFileError, JsonLines, dumps, load_checkpoint, save_checkpoint

CHECKPOINT = "checkpoint.pt"


class Stages:
    """Stage checkpoints of one run folder (see the module docstring).

    Args:
        run_dir: the run folder (holds ``checkpoint.pt``).
        log: the run's metrics writer; a :class:`JsonLines` is verified and cut back on resume.
        kind: the experiment kind, recorded in the checkpoint and checked on resume.
        config: the run's config; its fingerprint is recorded and checked on resume (a checkpoint
            of another config is refused instead of being mixed into this run).
    """

    def __init__(self, run_dir: str | Path, log: Callable[[dict], None], kind: str, config: dict) -> None:
        self.path = Path(run_dir) / CHECKPOINT
        self.log = log
        self.kind = kind
        self.fingerprint = hashlib.sha256(dumps(config).encode()).hexdigest()
        self.results: dict[str, Any] = {}
        self.state: Any = None
        self._rng: torch.Tensor | None = None
        if self.path.exists():
            ck = load_checkpoint(self.path)
            if ck.get("kind") != kind or not isinstance(ck.get("stages"), dict):
                raise CorruptFileError(f"checkpoint {self.path} is not a stage checkpoint of kind {kind!r}; "
                                       f"left untouched: delete it to restart the run from scratch")
            if ck.get("config_sha256") != self.fingerprint:
                raise CorruptFileError(f"checkpoint {self.path} was written by a different config than this run's; "
                                       f"left untouched: delete it to restart the run from scratch")
            self.results, self.state, self._rng = ck["stages"], ck.get("state"), ck.get("torch_rng")
            if isinstance(log, JsonLines):
                log.verify(ck["metrics_offset"], ck.get("metrics_sha256"), self.path)
                log.truncate(ck["metrics_offset"])
        elif isinstance(log, JsonLines):
            log.truncate(0)  # killed before the first checkpoint: every record is written again

    @property
    def resumed(self) -> bool:
        return bool(self.results)

    def done(self, key: str) -> bool:
        return key in self.results

    def run(self, key: str, compute: Callable[[], Any], state: Callable[[], Any] | None = None) -> Any:
        """The result of stage ``key``: from the checkpoint if it finished before, else ``compute()``
        (which may log records), then a checkpoint with ``state()`` as the state to continue from."""
        if key in self.results:
            return self.results[key]
        if self._rng is not None:  # the global RNG as it was when the last finished stage ended
            torch.set_rng_state(self._rng)
            self._rng = None
        result = compute()
        self.results[key] = result
        self.state = state() if state is not None else None
        self.save()
        return result

    def save(self) -> None:
        offset = self.log.size() if isinstance(self.log, JsonLines) else 0
        digest = self.log.digest(offset) if isinstance(self.log, JsonLines) else None
        save_checkpoint(self.path, {"epoch": len(self.results), "kind": self.kind, "stages": self.results,
                                    "state": self.state, "torch_rng": torch.get_rng_state(),
                                    "metrics_offset": offset, "metrics_sha256": digest,
                                    "config_sha256": self.fingerprint})
