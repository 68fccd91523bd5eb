"""One answer to `undertow ask`: the account, its offline brief, and the narrative when an LLM is
configured. The brief never depends on the LLM: a failed call costs the narrative, not the answer."""

from __future__ import annotations

import datetime as dt

from undertow.ask.brief import TOP_DOCUMENTS, build_brief
from undertow.ask.models import Brief
from undertow.ask.resolve import known_accounts, resolve_account
from undertow.store.home import Home


def ask(
    home: Home,
    account: str,
    question: str | None = None,
    since: dt.date | None = None,
    as_of: dt.date | None = None,
    k: int = TOP_DOCUMENTS,
    use_llm: bool | None = None,
) -> Brief:
    """Raises AccountNotFound or AmbiguousAccount (both LookupError) when the name does not settle it.
    `use_llm` None: the narrative only when the home is configured for it (llm.ask_narrative)."""
    resolved = resolve_account(account, known_accounts(home.records))
    brief = build_brief(home, resolved, question=question, since=since, as_of=as_of, k=k)
    if use_llm is None:
        use_llm = home.settings.llm.ask_narrative
    if use_llm and home.settings.llm.configured:
        add_narrative(brief, home)
    return brief


def add_narrative(brief: Brief, home: Home) -> None:
    from undertow.ask.narrative import NarrativeUnavailable, write_narrative

    try:
        brief.narrative = write_narrative(brief, home.records, home.settings.llm, home=home.settings.resolved_home)
    except NarrativeUnavailable as error:
        brief.notes.append(f"no narrative answer: {error}; the offline brief stands without it")
        return
    n = brief.narrative
    if n.dropped_citations or n.dropped_quotes or n.dropped_claims:
        brief.notes.append(
            f"dropped from the LLM's answer: citations of documents it was not given: {n.dropped_citations}; "
            f"quotes not found in the cited document: {n.dropped_quotes}; claims left without a citation: {n.dropped_claims}"
        )
