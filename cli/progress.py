"""A rich progress bar on a terminal, plain log lines otherwise (cron, CI, pipes)."""

from __future__ import annotations

import time

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from undertow.cli.common import err_console


class FileProgress:
    def __init__(self, title: str, enabled: bool, log_every_s: float = 10.0):
        self.title = title
        self.enabled = enabled
        self.log_every_s = log_every_s
        self._last_log = 0.0
        self._progress: Progress | None = None
        self._task = None

    def __enter__(self) -> "FileProgress":
        if self.enabled:
            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                TextColumn("{task.fields[item]}"), console=err_console, transient=True,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task(self.title, total=None, item="")
        return self

    def update(self, item: str, done: int, total: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=done, total=total, item=item[-60:])
        elif time.monotonic() - self._last_log >= self.log_every_s or done == total:
            self._last_log = time.monotonic()
            err_console.print(f"{self.title}: {done}/{total} {item}", highlight=False, soft_wrap=True)

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)
