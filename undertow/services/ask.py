"""`ask`: what is going on with one account, offline, with the LLM's narrative when asked or configured."""

from __future__ import annotations

import datetime as dt

from undertow.ask.resolve import AccountNotFound, AmbiguousAccount  # noqa: F401 - what `ask` raises
from undertow.services._shared import with_redaction
from undertow.settings import Settings


def ask(
    settings: Settings,
    account: str,
    question: str | None = None,
    *,
    since: dt.date | None = None,
    as_of: dt.date | None = None,
    top: int = 5,
    use_llm: bool | None = None,
    redact: bool | None = None,
):
    """The Brief; raises AccountNotFound (exit code 1) or AmbiguousAccount, whose `candidates`
    a caller can list, when the name does not settle which account is meant. `use_llm` None asks
    the LLM only when the home is configured to (llm.ask_narrative); `redact` False sends names
    and contact details as they are."""
    from undertow.ask.answer import ask as answer
    from undertow.store.home import Home

    settings = with_redaction(settings, redact)
    return answer(Home(settings), account, question, since, as_of, top, use_llm=use_llm)

