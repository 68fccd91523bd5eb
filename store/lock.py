"""One writer at a time per home folder: a second nightly run waits for nobody and says why."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from undertow.atomic import atomic_write_text
from undertow.errors import UndertowError
from undertow.private import private_writes


class StoreBusy(UndertowError):
    """Another process holds the home's lock; the message names it."""


@contextmanager
def exclusive(home: Path, what: str):
    lock_path = home / "undertow.lock"
    owner_path = home / "undertow.lock.owner"
    lock = FileLock(str(lock_path), mode=0o600)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        owner = owner_path.read_text().strip() if owner_path.exists() else "another process"
        raise StoreBusy(
            f"{home} is busy: {owner} holds the lock; wait for it to finish (the lock frees itself if that process dies)"
        ) from None
    try:
        # Whole or absent: a second writer reads this file to say who holds the lock.
        atomic_write_text(owner_path, f"`undertow {what}` (pid {os.getpid()})")
        with private_writes(home):
            yield
    finally:
        lock.release()
