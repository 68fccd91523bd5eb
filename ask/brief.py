"""The offline brief: everything the store knows about one account, in one object, no network.

The window runs from `since` (inclusive, all history when None) to the end of `as_of`; flags,
documents, timeline and retrieval all keep to it, so "since the QBR" means since the QBR.
"""

from __future__ import annotations

import datetime as dt

from undertow.ask.discrepancies import find_discrepancies, scored_triggers
from undertow.ask.models import AccountInfo, Brief
from undertow.ask.playbook import Playbook
from undertow.ask.question import answer_question, unanswered
from undertow.ask.resolve import Resolved
from undertow.ask.retrieve import recent_flagged, search_documents, signal_documents
from undertow.ask.scores import account_scores
from undertow.ask.signals import summarise_signals
from undertow.ask.timeline import build_timeline
from undertow.errors import InputError
from undertow.health.config import HealthConfig
from undertow.health.qualitative import qualitative_risk, severities
from undertow.store.home import Home

TOP_DOCUMENTS = 5
NO_SCORES = "no scores for this account yet: `undertow annotate ACCOUNTS.csv` adds them"


def in_window(value: dt.datetime | None, since: dt.date | None, as_of: dt.date) -> bool:
    if value is None:
        # An undated document cannot be placed inside a window, only in "all of history".
        return since is None
    return (since is None or value.date() >= since) and value.date() <= as_of


def today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


def build_brief(
    home: Home,
    resolved: Resolved,
    question: str | None = None,
    since: dt.date | None = None,
    as_of: dt.date | None = None,
    k: int = TOP_DOCUMENTS,
    config: HealthConfig | None = None,
    playbook: Playbook | None = None,
) -> Brief:
    as_of = as_of or today()
    if since is not None and since > as_of:
        raise InputError(f"--since {since.isoformat()} is after --as-of {as_of.isoformat()}: nothing can fall in that window")
    config = config or home.scorecard()
    playbook = playbook or home.playbook
    account_id = resolved.account.account_id
    records = home.records

    account_flags = records.flags(account_id)
    flags = [f for f in account_flags if in_window(f.get("date"), since, as_of)]
    documents = [d for d in records.iter_documents(account_id) if in_window(d.get("date"), since, as_of)]
    severity = severities(config.qualitative)
    signals = summarise_signals(flags, as_of, config.qualitative, severity, playbook)
    risk = qualitative_risk(flags, as_of, config.qualitative, severity).risk
    # What `annotate` would count on the as-of day, notes before --since included: a signal the
    # score holds from those notes is outside the window, not faded.
    active_with_earlier_notes = qualitative_risk(account_flags, as_of, config.qualitative, severity).active if since else []
    scores = account_scores(records, account_id, as_of, config.bands)

    brief = Brief(
        account=AccountInfo(
            account_id=account_id,
            account_name=resolved.account.account_name,
            documents=len(documents),
            matched_by=resolved.matched_by,
            match_score=resolved.score,
        ),
        question=question,
        as_of=as_of,
        since=since,
        scores=scores,
        qual_risk=risk,
        signals=signals,
        review=scored_triggers(scores, config),
        discrepancies=find_discrepancies(scores, signals, active_with_earlier_notes),
        timeline=build_timeline(documents, flags, signals),
    )
    if scores is None:
        brief.notes.append(NO_SCORES)
    if not documents:
        brief.notes.append("no documents for this account in the window" if since else "no documents for this account yet")
    label = resolved.account.account_name or account_id
    if question and documents:
        asked = playbook.asked_about(question)
        pinned = signal_documents(signals, asked)[:k]
        hits = search_documents(home, question, account_id, since, as_of, k)
        if not hits:
            brief.notes.append(
                "no document vectors found for this account: re-run `undertow ingest` with the current embedding model"
            )
        seen = {d.doc_id for d in pinned}
        brief.relevant_documents = (pinned + [d for d in hits if d.doc_id not in seen])[:k]
        brief.answer = answer_question(label, question, asked, signals, documents, hits)
    else:
        if question:
            brief.answer = unanswered(label, question)
        brief.relevant_documents = recent_flagged(flags, k)
    return brief
