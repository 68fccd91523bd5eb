"""`ask`: what is going on with one account, offline, with the LLM's narrative when configured."""

from __future__ import annotations

import datetime as dt

from undertow.ask.resolve import AccountNotFound, AmbiguousAccount  # noqa: F401 - what `ask` raises
from undertow.settings import Settings


def ask(
    settings: Settings,
    account: str,
    question: str | None = None,
    *,
    since: dt.date | None = None,
    as_of: dt.date | None = None,
    top: int = 5,
    use_llm: bool = True,
):
    """The Brief; raises AccountNotFound (exit code 1) or AmbiguousAccount, whose `candidates`
    a caller can list, when the name does not settle which account is meant."""
    from undertow.ask.answer import ask as answer
    from undertow.store.home import Home

    return answer(Home(settings), account, question, since, as_of, top, use_llm=use_llm)

