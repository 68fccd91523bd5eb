"""Re-run the local classifier over stored documents after `undertow train`, without re-embedding:
the sentence vectors ingestion made are in the record store."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from undertow.extractor.embedding import same_space
from undertow.extractor.local import LocalModel
from undertow.extractor.sentences import EmbeddedText
from undertow.ingest.pipeline import flag_rows
from undertow.store.home import Home
from undertow.store.lock import exclusive

BATCH_SIZE = 256


@dataclass
class ReclassifySummary:
    documents: int = 0
    flags_before: int = 0
    flags_after: int = 0
    skipped_other_embedding: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def reclassify(home: Home, model: LocalModel) -> ReclassifySummary:
    summary = ReclassifySummary()
    started = time.perf_counter()
    with exclusive(home.path, "reclassify", home.settings.sqlite_url):
        summary.flags_before = home.records.counts()["flags"]
        batch: list[dict] = []
        for row in home.records.iter_documents(with_vectors=True):
            # Vectors from another embedding model live in another space: the head cannot read them.
            if not same_space(row["embed_model"], model.embed_model):
                summary.skipped_other_embedding += 1
                continue
            batch.append(row)
            if len(batch) >= BATCH_SIZE:
                _classify_batch(home, model, batch, summary)
                batch = []
        _classify_batch(home, model, batch, summary)
        summary.flags_after = home.records.counts()["flags"]
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


def _classify_batch(home: Home, model: LocalModel, rows: list[dict], summary: ReclassifySummary) -> None:
    if not rows:
        return
    embedded = [EmbeddedText.from_stored(row) for row in rows]
    classifications = model.classify_many([row["id"] for row in rows], embedded)
    flags = [flag for row, result in zip(rows, classifications) for flag in flag_rows(result, row["account_id"])]
    home.records.replace_flags([row["id"] for row in rows], flags)
    summary.documents += len(rows)
