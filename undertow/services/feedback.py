"""`feedback`: a CSM's correction of a flag, stored as a label that the next `train` learns from."""

from __future__ import annotations

from dataclasses import dataclass

from undertow.errors import InputError, NotFound
from undertow.settings import Settings


@dataclass
class FeedbackResult:
    doc_id: str
    confirmed: list[str]
    rejected: list[str]


def record_feedback(settings: Settings, doc_id: str, confirm: list[str], reject: list[str], author: str = "") -> FeedbackResult:
    """Check the signals and the document, then write, holding the home's lock as every other
    writer does (a running ingest or reclassify makes this refuse with StoreBusy)."""
    from undertow.store.home import Home
    from undertow.store.lock import exclusive

    if not confirm and not reject:
        raise InputError("say what is right or wrong: --confirm SIGNAL and/or --reject SIGNAL")
    home = Home(settings)
    known = home.signal_names
    for signal in [*confirm, *reject]:
        if signal not in known:
            raise InputError(f"unknown signal {signal!r}: one of {', '.join(known)}")
    if set(confirm) & set(reject):
        raise InputError(f"cannot confirm and reject {sorted(set(confirm) & set(reject))} at once")
    with exclusive(home.path, "feedback", settings.sqlite_url):
        records = home.records
        if records.get_document(doc_id) is None:
            raise NotFound(f"no document {doc_id!r} in {home.path}")
        for signal in confirm:
            records.add_feedback(doc_id, signal, True, author)
        for signal in reject:
            records.add_feedback(doc_id, signal, False, author)
    return FeedbackResult(doc_id, list(confirm), list(reject))
