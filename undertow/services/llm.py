"""Healing after an outage: documents stored with a fallback verdict (the LLM timed out, the
endpoint was down, the run hit its deadline or ceiling) are asked again, and their flags replaced
by the LLM's once it answers. Run after every LLM ingest, and by `undertow reclassify --fallbacks`.
"""

from __future__ import annotations

from dataclasses import dataclass

from undertow.settings import Settings


@dataclass
class HealResult:
    pending: int  # documents waiting for an LLM answer before this run
    healed: int  # of them, answered by the LLM now
    summary: str | None  # the LLM classifier's line: sent, cost, fallbacks


def heal_fallbacks(settings: Settings, classifier=None, only: set[str] | None = None) -> HealResult:
    """Asks the LLM again for every document that fell back (or those of them in `only`); within
    the cost ceiling and deadline of `classifier` (an LLMClassifier, e.g. the one an ingest just
    used), or of a new one."""
    from undertow.documents import Document
    from undertow.extractor.llm import LLMClassifier
    from undertow.ingest.pipeline import flag_rows
    from undertow.store.home import Home
    from undertow.store.lock import exclusive

    classifier = classifier or LLMClassifier.from_settings(settings)
    pending = {k: v for k, v in classifier.cache.pending().items() if only is None or k in only}
    if not pending:
        return HealResult(0, 0, None)
    home = Home(settings)
    fields = set(Document.model_fields)
    docs, gone = [], []
    for doc_id in pending:
        row = home.records.get_document(doc_id)
        if row is None:
            gone.append(doc_id)
        else:
            docs.append(Document.model_validate({k: v for k, v in row.items() if k in fields and v is not None}))
    classifier.cache.clear_pending(gone)
    results = classifier.classify(docs)
    healed = [(doc, result) for doc, result in zip(docs, results) if result.backend == classifier.name]
    if healed:
        with exclusive(home.path, "reclassify", settings.sqlite_url):
            rows = [row for doc, result in healed for row in flag_rows(result, doc.account_id)]
            home.records.replace_flags([doc.id for doc, _ in healed], rows)
    return HealResult(len(pending), len(healed), classifier.summary())
