"""Helpers the services share: the classifier a `--backend` names, and files the user named."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from undertow.errors import InputError, NotFound
from undertow.settings import Settings

Notice = Callable[[str], None]  # one line for a person: a warning, a note, a step


def quiet(_: str) -> None:
    """The default `on_notice`: a caller that does not listen hears nothing."""


def make_classifier(backend: str, settings: Settings):
    """The classifier `--backend NAME` asks for; an unknown name is the user's mistake."""
    from undertow.extractor.backends import available_backends
    from undertow.extractor.backends import make_classifier as make

    known = available_backends()
    if backend not in known:
        raise InputError(f"unknown backend {backend!r}: choose one of {', '.join(known)}")
    return make(backend, settings)


def with_redaction(settings: Settings, redact: bool | None) -> Settings:
    """`--no-redact` (False) or a forced redaction (True) over the configured default."""
    if redact is None:
        return settings
    return settings.model_copy(update={"llm": settings.llm.model_copy(update={"redact": redact})})


@contextmanager
def named_files() -> Iterator[None]:
    """Around reading or writing files the user named: one that is not there, or is not UTF-8
    text, is their mistake (exit code 2 and the message as Python words it), not a crash."""
    try:
        yield
    except FileNotFoundError as error:
        raise NotFound(str(error)) from None
    except UnicodeDecodeError as error:
        raise InputError(str(error)) from None
