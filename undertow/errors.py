"""Errors a user can act on, each with the exit code cron and scripts read.

Exit codes: 0 everything was read, 1 some input was rejected (the rest is stored),
2 a usage or configuration error, 3 an internal error (the traceback is in the log file).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_INPUT_REJECTED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3


class UndertowError(Exception):
    """A failure the user can fix; the message is one line that says how."""

    exit_code = EXIT_USAGE


class ConfigurationError(UndertowError):
    """A setting, option or configuration file is wrong."""


class CorruptFileError(UndertowError):
    """A file Undertow wrote (model, database, vector index) cannot be read back."""
