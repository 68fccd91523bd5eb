"""What every command shares: the home folder, stderr console, JSON output and one-line errors."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from undertow.settings import Settings, load_settings

# Results go to stdout; progress, logs and tables meant for people go to stderr unless asked.
err_console = Console(stderr=True)
out_console = Console()

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", envvar="UNDERTOW_HOME", help="Folder for the store (default ~/.undertow).", show_default=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout for scripts.")]


def settings_for(home: Path | None) -> Settings:
    from undertow.errors import UndertowError

    try:
        return load_settings(home)
    except UndertowError as error:
        raise fail(str(error), error.exit_code) from None


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, default=str, indent=None) + "\n")
    sys.stdout.flush()


def fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@contextmanager
def user_errors(*error_types: type[BaseException]):
    """Known failures become one line and a non-zero exit instead of a traceback."""
    from undertow.errors import UndertowError
    from undertow.eval.datasets import DatasetError
    from undertow.store.lock import StoreBusy

    try:
        yield
    except UndertowError as error:
        raise fail(str(error), error.exit_code) from None
    except (StoreBusy, DatasetError, FileNotFoundError, ValueError, *error_types) as error:
        raise fail(str(error)) from None


def is_terminal() -> bool:
    return sys.stderr.isatty()
