"""One writer per run folder: an exclusive ``fcntl.flock`` on ``<folder>/.lock`` holding the writer's pid.

The kernel drops a ``flock`` when its holder dies (even by SIGKILL), so a lock file left by a dead
process is simply taken over; a live holder makes a second writer fail at once with
:class:`FolderLockedError` naming its pid. Fresh folders are made with :func:`create_fresh_dir`:
``mkdir`` without ``exist_ok`` and the next free ``-N`` suffix, so two runs started together never
share a folder.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_NAME = ".lock"


class FolderLockedError(RuntimeError):
    """Another live process writes this folder; the message names its pid."""


class FolderLock:
    """Hold ``<folder>/.lock`` exclusively for the life of the ``with`` block (or until :meth:`release`)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self._fd: int | None = None
        self.previous_pid: int | None = None
        """The pid found in the lock file when it was taken (a dead writer's), or None."""

    def acquire(self) -> "FolderLock":
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            who = f"process {holder}" if holder is not None else "another process"
            raise FolderLockedError(f"{self.folder} is being written by {who} (lock file {self.path}); "
                                    "wait for it to finish, or stop it, before running or resuming there") from None
        self.previous_pid = _read_pid(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        os.fsync(fd)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
            except OSError:
                pass
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def __enter__(self) -> "FolderLock":
        return self.acquire() if self._fd is None else self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def create_fresh_dir(parent: str | Path, name: str) -> Path:
    """Create and return ``parent/name``, or ``name-2``, ``name-3`` ... (the first free one), atomically:
    two processes asking at once get two different folders; an existing folder is never reused."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    i = 1
    while True:
        candidate = parent / (name if i == 1 else f"{name}-{i}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            i += 1
