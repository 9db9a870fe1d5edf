"""Crash-safe files: atomic writes (temp file, fsync, rename), fsynced JSON lines, checked loads.

A process killed at any instant leaves either the previous or the new version of a file, never
a mix; ``metrics.jsonl`` keeps every line whose write returned. Readers report a corrupt or
truncated file with a clear :class:`CorruptFileError` naming it, and never delete anything
(except the temp files of dead writers, see :func:`remove_stale_temps`).

Checkpoints are loaded with ``torch.load(weights_only=True)``: tensors and plain containers only,
so a crafted file cannot run code; anything else is refused naming the file.

Test-only kill points: with ``MEMLEARN_KILL_AT="<file name>:<n>:<before|after>"`` the process
SIGKILLs itself inside its n-th write of that file (atomic writes: before or after the rename;
JSON-lines appends: ``before`` = after half the line, a torn tail, ``after`` = after the line).
``"<file name>:<n>:hang"`` makes it stop there instead, until it is killed (a deterministic hang
for the trial-timeout tests).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import pickle
import re
import signal
from pathlib import Path
from typing import Any

import torch


class CorruptFileError(ValueError):
    """A run file is unreadable (truncated, corrupt, wrong format); the message names it and the fix."""


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


KILL_ENV = "MEMLEARN_KILL_AT"
"""Test-only hook: ``"<file name>:<n>:<before|after>"`` makes the process SIGKILL itself in its n-th
write of that file (see the module docstring). Unset in normal use."""

_write_counts: dict[str, int] = {}


def _kill_point(name: str, when: str, count: bool) -> None:
    """SIGKILL this process if :data:`KILL_ENV` names this write of ``name`` at ``when``."""
    spec = os.environ.get(KILL_ENV)
    if not spec:
        return
    if count:
        _write_counts[name] = _write_counts.get(name, 0) + 1
    target, _, rest = spec.partition(":")
    nth, _, point = rest.partition(":")
    if target != name or not nth.isdigit() or _write_counts.get(name, 0) != int(nth):
        return
    if point == when:
        os.kill(os.getpid(), signal.SIGKILL)
    elif point == "hang" and when == "before":
        while True:  # until the sweep's timeout kills this process
            signal.pause()


_TEMP = re.compile(r"^\..+\.(\d+)\.tmp$")


def remove_stale_temps(folder: str | Path) -> list[str]:
    """Delete the temp files ``.<name>.<pid>.tmp`` that killed writers left in ``folder``.

    Call it only while holding the folder's :class:`FolderLock` (no other writer is alive then).
    Returns the names removed.
    """
    folder = Path(folder)
    removed = []
    if not folder.is_dir():
        return removed
    for p in folder.iterdir():
        if _TEMP.match(p.name) and p.is_file():
            p.unlink(missing_ok=True)
            removed.append(p.name)
    return sorted(removed)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically: write ``.<name>.<pid>.tmp``, fsync, rename, fsync the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    _kill_point(path.name, "before", count=True)
    os.replace(tmp, path)
    _fsync_dir(path.parent)
    _kill_point(path.name, "after", count=False)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _jsonable(value: Any) -> Any:
    """Floats that JSON cannot hold (nan, inf) become strings, so every line stays valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, torch.Tensor):
        return _jsonable(value.tolist())
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _jsonable(value.item())
    return value


def dumps(value: Any, indent: int | None = None) -> str:
    """JSON text of ``value`` with non-finite floats as strings and sorted keys (stable bytes)."""
    return json.dumps(_jsonable(value), indent=indent, sort_keys=True, allow_nan=False)


def atomic_write_json(path: str | Path, value: Any) -> None:
    atomic_write_text(path, dumps(value, indent=2) + "\n")


def read_json(path: str | Path) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CorruptFileError(f"{path} is not valid JSON ({exc}); it was left untouched") from None


class JsonLines:
    """An append-only JSON-lines file: each ``append`` writes one line, flushes and fsyncs.

    A line torn by a kill is never followed by another one: ``open`` trims a torn tail (an
    incomplete last line) before appending, and :func:`read_jsonl` skips it with a warning.
    """

    timings: "JsonLines | None" = None
    """Where :func:`log_timing` puts wall-clock figures (kept out of the metrics, which must be reproducible)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._trim_torn_tail()

    def _trim_torn_tail(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            self.truncate(data.rfind(b"\n") + 1)

    def size(self) -> int:
        """Bytes of complete lines written so far (a resume point)."""
        return self.path.stat().st_size if self.path.exists() else 0

    def truncate(self, size: int) -> None:
        """Keep the first ``size`` bytes (a point returned by :meth:`size`), atomically."""
        data = self.path.read_bytes() if self.path.exists() else b""
        atomic_write_bytes(self.path, data[:size])

    def append(self, record: dict) -> None:
        line = (dumps(record) + "\n").encode("utf-8")
        with open(self.path, "ab") as f:
            if os.environ.get(KILL_ENV):  # test-only: a torn line, then the kill
                f.write(line[:len(line) // 2])
                f.flush()
                _kill_point(self.path.name, "before", count=True)
                f.write(line[len(line) // 2:])
            else:
                f.write(line)
            f.flush()
            os.fsync(f.fileno())
        _kill_point(self.path.name, "after", count=False)

    def digest(self, size: int | None = None) -> str:
        """SHA-256 of the first ``size`` bytes (default: all), stored in checkpoints to verify on resume."""
        data = self.path.read_bytes() if self.path.exists() else b""
        return hashlib.sha256(data if size is None else data[:size]).hexdigest()

    def verify(self, size: int, digest: str | None, checkpoint: str | Path) -> None:
        """Raise :class:`CorruptFileError` unless the file holds the ``size`` bytes (of SHA-256
        ``digest``) that were written when ``checkpoint`` was saved: a lost, cut or edited
        ``metrics.jsonl`` is never silently resumed."""
        have = self.size()
        if have < size:
            what = "is missing" if not self.path.exists() else f"holds {have} bytes"
            raise CorruptFileError(f"{self.path} {what} but {checkpoint} was saved after {size} bytes of metrics; "
                                   f"the run cannot be resumed consistently: restore the file or start the run afresh")
        prefix = self.path.read_bytes()[:size]
        if digest is not None and hashlib.sha256(prefix).hexdigest() != digest:
            raise CorruptFileError(f"{self.path}: its first {size} bytes differ from those recorded in {checkpoint}; "
                                   f"the run cannot be resumed consistently: restore the file or start the run afresh")
        for i, raw in enumerate(prefix.split(b"\n")):
            if raw.strip():
                try:
                    json.loads(raw)
                except (json.JSONDecodeError, UnicodeDecodeError):
                    raise CorruptFileError(f"{self.path} line {i + 1} is not valid JSON; fix or remove that line") from None

    def __call__(self, record: dict) -> None:
        self.append(record)


def log_timing(log: Any, record: dict) -> None:
    """Append a wall-clock record to the run's ``timings.jsonl`` (dropped when ``log`` has no timings file):
    timings differ between identical runs, so they never go into ``metrics.jsonl`` or ``summary.json``."""
    if isinstance(log, JsonLines) and log.timings is not None:
        log.timings.append(record)


def read_jsonl(path: str | Path) -> list[dict]:
    """Every complete record of a JSON-lines file.

    A broken *last* line (a write cut by a kill) is skipped; a broken line anywhere else raises
    :class:`CorruptFileError` with its line number.
    """
    path = Path(path)
    if not path.exists():
        return []
    lines = path.read_bytes().split(b"\n")
    records = []
    for i, raw in enumerate(lines):
        if not raw.strip():
            continue
        try:
            records.append(json.loads(raw))
        except (json.JSONDecodeError, UnicodeDecodeError):
            is_last = all(not rest.strip() for rest in lines[i + 1:])
            if is_last:
                break
            raise CorruptFileError(f"{path} line {i + 1} is not valid JSON; fix or remove that line") from None
    return records


def save_checkpoint(path: str | Path, payload: dict) -> None:
    """``torch.save`` to memory, then an atomic replace of ``path`` (numpy values become tensors)."""
    buf = io.BytesIO()
    torch.save(plain(payload), buf)
    atomic_write_bytes(path, buf.getvalue())


def plain(value: Any) -> Any:
    """``value`` with numpy arrays and scalars turned into tensors and Python numbers, so that a
    checkpoint of it loads with ``weights_only=True``."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    return value


def load_checkpoint(path: str | Path) -> dict:
    """Load a checkpoint written by :func:`save_checkpoint`, or raise :class:`CorruptFileError`.

    ``weights_only=True``: only tensors and plain containers are unpickled; a file holding any
    other object (which could run code when unpickled) is refused, naming the file.
    """
    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except pickle.UnpicklingError as exc:
        raise CorruptFileError(f"checkpoint {path} holds objects other than tensors and plain containers; it was "
                               f"refused unread (nothing in it was run) and left untouched: delete {path.name} "
                               f"to restart the run from scratch ({str(exc).splitlines()[0][:200]})") from None
    except Exception as exc:  # torch raises RuntimeError, EOFError, UnpicklingError, zipfile errors...
        raise CorruptFileError(f"checkpoint {path} is corrupt or truncated ({type(exc).__name__}: {exc}); "
                               f"the run folder was left untouched: delete {path.name} to restart the run "
                               f"from scratch") from None
    if not isinstance(payload, dict) or "epoch" not in payload:
        raise CorruptFileError(f"checkpoint {path} is not a memlearn checkpoint (no epoch); left untouched")
    return payload
