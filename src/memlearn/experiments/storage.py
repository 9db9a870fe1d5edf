"""Crash-safe files: atomic writes (temp file, fsync, rename), fsynced JSON lines, checked loads.

A process killed at any instant leaves either the previous or the new version of a file, never
a mix; ``metrics.jsonl`` keeps every line whose write returned. Readers report a corrupt or
truncated file with a clear :class:`CorruptFileError` naming it, and never delete anything.
"""

from __future__ import annotations

import io
import json
import math
import os
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


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically: write ``.<name>.tmp``, fsync, rename, fsync the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


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
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def __call__(self, record: dict) -> None:
        self.append(record)


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
    """``torch.save`` to memory, then an atomic replace of ``path``."""
    buf = io.BytesIO()
    torch.save(payload, buf)
    atomic_write_bytes(path, buf.getvalue())


def load_checkpoint(path: str | Path) -> dict:
    """Load a checkpoint written by :func:`save_checkpoint`, or raise :class:`CorruptFileError`."""
    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except FileNotFoundError:
        raise
    except Exception as exc:  # torch raises RuntimeError, EOFError, UnpicklingError, zipfile errors...
        raise CorruptFileError(f"checkpoint {path} is corrupt or truncated ({type(exc).__name__}: {exc}); "
                               f"the run folder was left untouched: delete {path.name} to restart the run "
                               f"from scratch") from None
    if not isinstance(payload, dict) or "epoch" not in payload:
        raise CorruptFileError(f"checkpoint {path} is not a memlearn checkpoint (no epoch); left untouched")
    return payload
