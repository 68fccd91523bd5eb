"""An unexpected error ends a command with one line and exit code 3; the traceback goes to a log.

cron and scripts tell a crash (3) from rejected input (1) by the exit code, and a person finds
the details in the log file the line names, not on the terminal.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import traceback
from pathlib import Path

from undertow.errors import one_line
from undertow.settings import home_from_env, last_opened_home

LOG_NAME = "errors.log"


def crash_log_path() -> Path:
    """HOME/logs/errors.log (the home the command opened: --home, a nightly config's `home`), or a
    file in the temp folder when the home cannot hold one."""
    folder = (last_opened_home() or home_from_env()) / "logs"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        return folder / LOG_NAME
    except OSError:
        return Path(tempfile.gettempdir()) / f"undertow-{os.getuid()}-{LOG_NAME}"


def record_crash(error: BaseException) -> Path:
    path = crash_log_path()
    stamp = dt.datetime.now().isoformat(timespec="seconds")
    text = "".join(traceback.format_exception(error))
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(f"--- {stamp} pid {os.getpid()}\n{text}\n")
    return path


def describe(error: BaseException) -> str:
    return one_line(error, show_type=True)
