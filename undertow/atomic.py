"""Files that are whole or absent: write a temp file beside the target, fsync it, then rename.

A killed `undertow train` or a full disk used to leave a truncated model that every later
command tripped over. os.replace within one folder is atomic, so a reader sees either the old
file or the new one, never half of either.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temp path in target's folder for writers that want a path (pandas, numpy); it replaces
    target when the block ends without an error and is removed when it does not.

    The temp name ends with target's suffix: some writers (np.savez) append one otherwise.
    """
    target = Path(target)
    handle, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{target.suffix}", dir=target.parent)
    os.close(handle)
    temp = Path(temp_name)
    try:
        yield temp
        _keep_mode_of(target, temp)
        _fsync_file(temp)
        os.replace(temp, target)
    except BaseException:
        with suppress(FileNotFoundError):
            temp.unlink()
        raise
    _fsync_folder(target.parent)


@contextmanager
def atomic_open(target: Path, mode: str = "wb", **open_options) -> Iterator[IO]:
    """An open file that becomes target only when the block ends without an error."""
    with atomic_path(target) as temp, open(temp, mode, **open_options) as handle:
        yield handle


def atomic_write_bytes(target: Path, data: bytes) -> None:
    with atomic_open(target, "wb") as handle:
        handle.write(data)


def atomic_write_text(target: Path, text: str, encoding: str = "utf-8") -> None:
    with atomic_open(target, "w", encoding=encoding) as handle:
        handle.write(text)


def _keep_mode_of(target: Path, temp: Path) -> None:
    # mkstemp makes the temp file 0600: right for a new file, but replacing an existing one
    # must not change who may read it.
    with suppress(FileNotFoundError):
        os.chmod(temp, target.stat().st_mode & 0o7777)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def _fsync_folder(folder: Path) -> None:
    # The rename itself survives a power cut only once the folder's entry is on disk; not every
    # platform lets a folder be opened for that, and the data is already safe without it.
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
