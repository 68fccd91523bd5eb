"""Errors a user can act on, each with the exit code cron and scripts read.

Exit codes: 0 everything was read, 1 some input was rejected (the rest is stored),
2 a usage or configuration error, 3 an internal error (the traceback is in the log file).

Every failure a user can cause is an `UndertowError`; the CLI turns one into its message and
its `exit_code` in one place (`undertow.cli.common.user_errors`). Anything else is a bug: it
ends with exit code 3 and a traceback in the log, never as a one-line "error:".
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_INPUT_REJECTED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3


class UndertowError(Exception):
    """A failure the user can fix; the message is one line that says how."""

    exit_code = EXIT_USAGE


# ConfigurationError and InputError are ValueErrors too, as the errors they replace were: code
# that caught ValueError around a loader or a parser keeps working.
class ConfigurationError(UndertowError, ValueError):
    """A setting, option or configuration file is wrong."""


class InputError(UndertowError, ValueError):
    """An argument, option value or input file the user gave cannot be used as it is."""


class NotFound(UndertowError, LookupError):
    """Something the user named (a file, a document, an account) is not there."""


class CorruptFileError(UndertowError):
    """A file Undertow wrote (model, database, vector index) cannot be read back."""


class StoreUnreachable(ConfigurationError):
    """A database or Chroma server that the settings name does not answer (down, wrong address,
    wrong password): for the user to fix where the setting is, not a bug."""


# --- one-line messages -----------------------------------------------------------------------------
def one_line(error: BaseException, origin: object = None, *, model: type | None = None, show_type: bool = False) -> str:
    """`error` as one line a person can act on, after `origin: ` (a file, a setting) when given.

    A pydantic ValidationError gives its first problem with the key where it is
    (`sources#2.paths: Input should be a valid list (and 1 more problem)`); with the `model` that
    was validated, an unknown key also lists the keys allowed there. Any other error gives its
    first line; `show_type` puts the exception's class first (for errors nobody expected).
    """
    from pydantic import ValidationError

    if isinstance(error, ValidationError):
        text = _first_problem(error, model)
    else:
        text = next((line.strip() for line in str(error).splitlines() if line.strip()), "")
    if show_type or not text:
        text = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return f"{origin}: {text}" if origin is not None and str(origin) else text


def _first_problem(error, model: type | None) -> str:
    problems = error.errors()
    first = problems[0]
    where = key_name(first["loc"])
    if first["type"] == "extra_forbidden":
        keys = _keys_at(model, first["loc"][:-1]) if model is not None else None
        message = "unknown key" + (f"; the keys here are {', '.join(keys)}" if keys else "")
    else:
        message = first["msg"].removeprefix("Value error, ")
    more = f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})" if len(problems) > 1 else ""
    return f"{where}: {message}{more}" if where else f"{message}{more}"


def key_name(loc: tuple) -> str:
    """('sources', 1, 'paths') -> 'sources#2.paths': items counted from 1, as a person reads the file."""
    name = ""
    for part in loc:
        name += f"#{part + 1}" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


def _keys_at(model: type, loc: tuple) -> list[str] | None:
    """The keys the pydantic model at `loc` inside `model` accepts, or None when it cannot be told."""
    annotation = model
    for part in loc:
        annotation = _inside(annotation, part)
        if annotation is None:
            return None
    found = _as_model(annotation)
    return [field.alias or name for name, field in found.model_fields.items()] if found else None


def _inside(annotation, part):
    """The type of `annotation[part]`: a model's field, a list's item, a dict's value, through Optional."""
    from typing import get_args, get_origin

    model = _as_model(annotation)
    if model is not None:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        return field.annotation if field is not None else None
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (list, tuple, set, frozenset) and args:
        return args[0]
    if origin is dict and args:
        return args[-1]
    # Optional[X] and other unions: the first member that has `part`.
    return next((inner for arg in args if (inner := _inside(arg, part)) is not None), None)


def _as_model(annotation):
    from pydantic import BaseModel

    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
