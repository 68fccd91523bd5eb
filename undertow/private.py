"""The home holds customer text: the folder and everything in it readable by its owner only.

`undertow` sets umask 077 itself, but tests and library users call the code without it, and homes
made by older versions are world-readable; so a home is tightened when it is opened, and a writer
(ingest, reclassify) runs with umask 077 and tightens whatever a library created looser.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

OTHERS = 0o077  # group and world bits: none of them belong on customer data


def make_private(folder: Path) -> int:
    """Folders 0700 and files 0600 under `folder` where they are looser; how many were changed.

    Only what is looser is touched, so opening a tidy home costs one stat per file. Links are
    left alone (their targets may be outside the home), and a file that vanishes or belongs to
    someone else is skipped: tightening must never stop a command.
    """
    folder = Path(folder)
    if not folder.is_dir() or folder.is_symlink():
        return 0
    changed = _tighten(folder)
    for parent, folders, files in os.walk(folder):
        for name in folders + files:
            changed += _tighten(Path(parent) / name)
    return changed


@contextmanager
def private_writes(folder: Path) -> Iterator[None]:
    """Files created inside the block are owner-only whatever the caller's umask, and anything
    a library still made looser (lock files, vector index files) is tightened at the end."""
    previous = os.umask(OTHERS)
    os.umask(previous | OTHERS)  # keep any stricter bits the caller had
    try:
        yield
    finally:
        os.umask(previous)
        make_private(folder)


def _tighten(path: Path) -> int:
    with suppress(FileNotFoundError, PermissionError):
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode) or not stat.S_IMODE(mode) & OTHERS:
            return 0
        path.chmod(stat.S_IMODE(mode) & ~OTHERS)
        return 1
    return 0
