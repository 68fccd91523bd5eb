"""What every command shares: the options they have in common, their parsers, the stderr console,
JSON output, and the one place a user's mistake becomes one line and an exit code."""

from __future__ import annotations

import datetime as dt
import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from typer import Exit, TyperException
from rich.console import Console
from rich.text import Text

from undertow.errors import InputError, UndertowError
from undertow.settings import Settings, forget_opened_home, load_settings

# Results go to stdout; progress, logs and tables meant for people go to stderr unless asked.
err_console = Console(stderr=True)
out_console = Console()

# --- options more than one command has ------------------------------------------------------------
HomeOption = Annotated[
    Path | None,
    typer.Option("--home", envvar="UNDERTOW_HOME", help="Folder for the store (default ~/.undertow).", show_default=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout for scripts.")]
ScorecardOption = Annotated[Path | None, typer.Option("--scorecard", help="Scorecard YAML merged over the bundled one (default: HOME/scorecard.yaml if present).")]
AsOfOption = Annotated[str | None, typer.Option("--as-of", help="Score as of this date (YYYY-MM-DD); flags dated later are ignored. Default: today.")]
MapOption = Annotated[list[str], typer.Option("--map", help="Column for a field when the export names it differently, FIELD=COLUMN; repeatable.")]
BackendOption = Annotated[str, typer.Option("--backend", help="local (offline), llm, or hybrid.")]
NoRedactOption = Annotated[bool, typer.Option("--no-redact", help="Send names, emails, numbers and secrets to a remote LLM as they are (redacted by default).")]


def settings_for(home: Path | None) -> Settings:
    return load_settings(home)


def parse_date(option: str, value: str | None) -> dt.date | None:
    """`--as-of`, `--since`: YYYY-MM-DD (or any date the exports use); None when not given."""
    from undertow.documents import parse_date_reading

    if not value:
        return None
    try:
        day, ambiguous = parse_date_reading(value)
    except ValueError:
        raise InputError(f"{option} {value!r} is not a date: use YYYY-MM-DD") from None
    if ambiguous:  # a day scored as the wrong one is worse than a question
        other = parse_date_reading(value, dayfirst=False)[0]
        raise InputError(f"{option} {value!r} could be {day:%-d %B} or {other:%-d %B %Y}: use YYYY-MM-DD")
    return day.date()


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """`--map FIELD=COLUMN`, repeated."""
    mapping = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        if not sep or not field or not column:
            raise InputError(f"--map expects FIELD=COLUMN (for example text=Description), got {pair!r}")
        mapping[field.strip()] = column.strip()
    return mapping


# --- output ---------------------------------------------------------------------------------------
def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, default=str, indent=None) + "\n")
    sys.stdout.flush()
    _json_run.printed = True


def notice(line: str) -> None:
    """A warning, note or step for a person, on stderr; markup off, since file names and customer
    text may hold [brackets]."""
    err_console.print(line, highlight=False, markup=False, soft_wrap=True)


def is_terminal() -> bool:
    return sys.stderr.isatty()


# --- errors ---------------------------------------------------------------------------------------
def fail(message: str, code: int = 2) -> typer.Exit:
    # The message is plain text: a file named set[v2].jsonl or a signal typed as [/churn] is words,
    # not markup to interpret (or to fail on).
    err_console.print(Text.assemble(("error:", "bold red"), " ", message), highlight=False, soft_wrap=True)
    _json_run.message = message
    return typer.Exit(code)


def print_internal_error(message: str) -> None:
    err_console.print(Text.assemble(("internal error:", "bold red"), " ", message), highlight=False, soft_wrap=True)


@contextmanager
def user_errors():
    """An UndertowError becomes its one-line message and its class's exit code. Nothing else is
    caught: any other exception is a bug, and `app.main` logs its traceback and exits 3."""
    try:
        yield
    except UndertowError as error:
        raise fail(str(error), error.exit_code) from None


# --- --json on failure ----------------------------------------------------------------------------
class _JsonRun:
    """What the running command owes a script that asked for --json: `wanted` once the command
    line asks for it, `printed` once a JSON result went to stdout, `message` the last error line."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.wanted, self.printed, self.message = False, False, None


_json_run = _JsonRun()


def expect_json(command: Any, args: list[str]) -> None:
    """Note whether `args` (the command's own, not parsed yet) ask a command that has --json for it.
    Read from the raw arguments, since a usage error ends the parsing before the option has a value."""
    if command is None or not any("--json" in param.opts for param in command.params):
        _json_run.wanted = False
    else:
        _json_run.wanted = "--json" in (args[: args.index("--")] if "--" in args else args)


@contextmanager
def json_failures():
    """A script that asked for --json reads stdout only: when the command fails before printing its
    result, stdout gets one object, {"error": the one-line message, "exit_code": N}, while stderr
    keeps the message for people. It reports and re-raises; it decides no exit code (`user_errors`
    does, and `app.main` for a crash, which reports through `report_json_failure`)."""
    _json_run.reset()  # one process may run several commands (tests, CliRunner)
    forget_opened_home()
    try:
        yield
    except Exit as done:
        if done.exit_code:
            report_json_failure(_json_run.message or f"failed with exit code {done.exit_code}; the reason is on stderr", done.exit_code)
        raise
    except TyperException as usage:  # a bad option or argument, which typer prints itself
        report_json_failure(usage.format_message(), usage.exit_code)
        raise


def report_json_failure(message: str, code: int) -> None:
    """{"error", "exit_code"} on stdout, when --json was asked and no JSON result was printed (a
    command that printed its result and then exits 1 or 2, as ingest and doctor do, has said it)."""
    if _json_run.wanted and not _json_run.printed:
        print_json({"error": message, "exit_code": code})
