"""The documents that answer the question: nearest in Chroma, inside the account and the window.

A question about a signal ("are they looking at a competitor?") puts the documents that show
it first: the embedding model matches a question to a passage by shared words far better than
by topic, and the flags already say which passages are about competitors. Without a question,
the most recent flagged documents stand in: they are what changed.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from undertow.ask.models import RelevantDocument, SignalSummary
from undertow.ask.playbook import ANY_SIGNAL
from undertow.store.home import Home
from undertow.extractor.sentences import EmbeddedText

SNIPPET_CHARS = 280
PINNED = 3  # signal documents put before the search hits; the rest of the list is the search's
# Chroma filters from a day on, not up to one: ask for more, then drop what is after the window.
OVERFETCH = 3


def _day(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value else None


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1].rstrip() + "\u2026"


def best_passage(row: dict, question_vector: np.ndarray, embed_model: str) -> tuple[str, float | None]:
    """The stored sentence closest to the question and its similarity; the document's start
    (and None) when its sentences were embedded by another model."""
    spans = row.get("sentence_spans")
    if not spans or row.get("embed_model") != embed_model:
        return _clip(row["text"]), None
    stored = EmbeddedText.from_stored(row)
    if not stored.sentences:
        return _clip(row["text"]), None
    scores = stored.vectors @ question_vector
    best = int(np.argmax(scores))
    return _clip(stored.sentences[best].text), float(scores[best])


def search_documents(
    home: Home, question: str, account_id: str, since: dt.date | None, until: dt.date, k: int
) -> list[RelevantDocument]:
    """Chroma finds candidates by the whole document's vector; they are then ranked by their best
    sentence too, since a question is usually answered by one sentence of a longer note."""
    embedder = home.embedder
    vector = embedder.embed([question])[0]
    since_dt = dt.datetime.combine(since, dt.time()) if since else None
    hits = home.vectors.search(vector, k=k * OVERFETCH, account_id=account_id, since=since_dt)
    found: list[RelevantDocument] = []
    for doc_id, similarity in hits:
        row = home.records.get_document(doc_id)
        # The record store is the source of truth: a vector left by an interrupted run is skipped.
        if row is None or row["account_id"] != account_id:
            continue
        day = _day(row["date"])
        if day is not None and day > until:
            continue
        snippet, sentence_similarity = best_passage(row, vector, embedder.name)
        found.append(
            RelevantDocument(
                doc_id=doc_id,
                date=day,
                source=row["source"],
                subject=row["subject"],
                similarity=round(max(similarity, sentence_similarity if sentence_similarity is not None else -1.0), 4),
                why="close to the question",
                snippet=snippet,
            )
        )
    found.sort(key=lambda d: (-(d.similarity or 0.0), d.doc_id))
    return found[:k]


def recent_flagged(flags: list[dict], k: int) -> list[RelevantDocument]:
    """`flags` come newest first from the store and are already inside the window."""
    by_doc: dict[str, list[dict]] = {}
    for flag in flags:
        by_doc.setdefault(flag["doc_id"], []).append(flag)
    picked = []
    for doc_id, doc_flags in list(by_doc.items())[:k]:
        first = doc_flags[0]
        strongest = max(doc_flags, key=lambda f: f["confidence"])
        quote = next((e.get("quote") for e in strongest.get("evidence") or [] if e.get("quote")), "")
        picked.append(
            RelevantDocument(
                doc_id=doc_id,
                date=_day(first.get("date")),
                source=first.get("source") or "",
                subject=first.get("subject") or "",
                why="flagged: " + ", ".join(sorted({f["signal"].replace("_", " ") for f in doc_flags})),
                snippet=_clip(quote),
            )
        )
    return picked


def signal_documents(signals: list[SignalSummary], asked: list[str]) -> list[RelevantDocument]:
    """The strongest evidence of the signals a question asks about; for a question about risk in
    general, the strongest document of every active signal."""
    if ANY_SIGNAL in asked:
        quotes = [(s, s.evidence[0]) for s in signals if s.active and s.evidence]
    else:
        quotes = [(s, q) for s in signals if s.signal in asked for q in s.evidence]
    picked: dict[str, RelevantDocument] = {}
    for summary, quote in quotes:
        if quote.doc_id in picked or len(picked) == PINNED:
            continue
        picked[quote.doc_id] = RelevantDocument(
            doc_id=quote.doc_id,
            date=quote.date,
            source=quote.source,
            subject=quote.subject,
            why=f"shows {summary.signal.replace('_', ' ')}, which the question asks about",
            snippet=_clip(quote.quote),
        )
    return list(picked.values())
