"""`feedback`: a CSM's correction of a flag. It counts at once: a rejected flag is left out of
health scores, briefs and digests (`RecordStore.flags`), and a confirmed signal that no classifier
flagged is flagged, and stays flagged whatever a classifier later says. The next `train` applies
it to the model too."""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass, field

from undertow.errors import InputError, NotFound
from undertow.settings import Settings


def login_name() -> str:
    """Who gives a verdict when nobody said: the user logged in, as the web workspace signs them."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME: a container's uid
        return "unknown"


def in_words(items: list[str]) -> str:
    """["a", "b", "c"] -> "a, b and c": a list as a sentence says it."""
    return " and ".join([", ".join(items[:-1]), items[-1]]) if len(items) > 1 else "".join(items)


@dataclass
class FeedbackResult:
    doc_id: str
    confirmed: list[str]
    rejected: list[str]
    flagged: list[str] = field(default_factory=list)  # confirmed signals that had no flag and now have one
    cleared: list[str] = field(default_factory=list)  # signals whose verdict was taken back
    author: str = ""  # who the verdicts are signed by


def record_feedback(settings: Settings, doc_id: str, confirm: list[str], reject: list[str], author: str = "", clear: list[str] = ()) -> FeedbackResult:
    """Store verdicts (`confirm`, `reject`) or take earlier ones back (`clear`). Checks the signals
    and the document, then writes, holding the home's lock as every other writer does (a running
    ingest or reclassify makes this refuse with StoreBusy). A verdict is always signed: without an
    `author`, by the user logged in."""
    from undertow.store.home import Home
    from undertow.store.lock import exclusive

    if not confirm and not reject and not clear:
        raise InputError("say what is right or wrong: --confirm SIGNAL and/or --reject SIGNAL (or --clear SIGNAL to take a verdict back)")
    author = author.strip() or login_name()
    home = Home(settings)
    known = home.signal_names
    for signal in [*confirm, *reject, *clear]:
        if signal not in known:
            raise InputError(f"unknown signal {signal!r}: one of {', '.join(known)}")
    if set(confirm) & set(reject):
        raise InputError(f"cannot confirm and reject {in_words(sorted(set(confirm) & set(reject)))} at once")
    if set(clear) & (set(confirm) | set(reject)):
        raise InputError(f"cannot give and take back a verdict on {in_words(sorted(set(clear) & (set(confirm) | set(reject))))} at once")
    with exclusive(home.path, "feedback", settings.sqlite_url):
        records = home.records
        if records.get_document(doc_id) is None:
            raise NotFound(f"no document {doc_id!r} in {home.path}")
        for signal in confirm:
            records.add_feedback(doc_id, signal, True, author)
        for signal in reject:
            records.add_feedback(doc_id, signal, False, author)
        missing = [signal for signal in confirm if signal not in records.flagged_signals(doc_id)]
        if missing:
            records.add_flags(confirmed_flags(home, records.get_document(doc_id), missing, author))
        cleared = records.withdraw_feedback(doc_id, list(clear), FEEDBACK_BACKEND) if clear else []
    return FeedbackResult(doc_id, list(confirm), list(reject), missing, cleared, author)


FEEDBACK_BACKEND = "feedback"  # the flags table's `backend` for a flag a CSM confirmed


def confirmed_flags(home, stored: dict, signals: list[str], author: str) -> list[dict]:
    """Flags for signals a CSM confirmed on a stored document that no classifier flagged, quoting
    the sentence the local model scores highest for each, with confidence 1 (a person said so)."""
    from undertow.extractor.embedding import local_embedder, same_space
    from undertow.extractor.feedback import best_sentence_under
    from undertow.extractor.local import load_local_model
    from undertow.extractor.sentences import EmbeddedText, embed_texts
    from undertow.store.records import utcnow

    model = load_local_model(home.model_path)
    readable = same_space(stored["embed_model"], model.embed_model)
    # Stored vectors of another embedding model (a home that embeds with an API) are re-made locally.
    embedded = EmbeddedText.from_stored(stored) if readable else embed_texts([stored["text"]], local_embedder())[0]
    best = best_sentence_under(model, embedded)
    by_text = {sentence.text: sentence for sentence in embedded.sentences}
    rows = []
    for signal in signals:
        sentence = by_text[best(signal)]
        rows.append({
            "doc_id": stored["id"], "signal": signal, "account_id": stored["account_id"], "confidence": 1.0,
            "evidence": json.dumps([{"quote": sentence.text, "start": sentence.start, "end": sentence.end}], ensure_ascii=False),
            "backend": FEEDBACK_BACKEND, "model_version": f"confirmed by {author or 'a CSM'}"[:128], "created_at": utcnow(),
        })  # fmt: skip
    return rows
