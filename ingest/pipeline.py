"""The nightly job: read, dedupe, embed, classify and store, one transaction per batch.

Safe to re-run (a document's id comes from its source or its content, and the same words under
another id are not stored twice), to kill (a batch is stored whole or not at all, and the vector
upsert is idempotent), and to run twice at once (a lock on the home folder).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from undertow.documents import Document
from undertow.extractor.backends import Classifier
from undertow.extractor.results import Classification
from undertow.extractor.sentences import document_vector, embed_texts
from undertow.ingest.items import ReadDocument, ReadFailure, SkippedFile
from undertow.ingest.sources import ReadOptions, read_all
from undertow.store.home import Home
from undertow.store.lock import exclusive
from undertow.store.records import StoredDocument, utcnow
from undertow.text import detect_language

BATCH_SIZE = 64


@dataclass
class IngestSummary:
    run_id: int = 0
    read: int = 0
    new: int = 0
    updated: int = 0
    skipped: int = 0
    duplicates: int = 0  # the same words already stored under another id (another export of them)
    failed: int = 0
    warnings: int = 0
    flagged: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)
    skipped_files: list[str] = field(default_factory=list)
    classifier_stats: dict = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("read", "new", "updated", "skipped", "failed")}

    def as_dict(self) -> dict:
        return asdict(self)


ProgressCallback = Callable[[str, int, int], None]  # (where, documents read, documents in all)


def flag_rows(classification: Classification, account_id: str) -> list[dict]:
    now = utcnow()
    return [
        {
            "doc_id": classification.doc_id,
            "signal": flag.signal,
            "account_id": account_id,
            "confidence": flag.confidence,
            "evidence": json.dumps([e.model_dump() for e in flag.evidence], ensure_ascii=False),
            "backend": classification.backend,
            "model_version": classification.model_version,
            "created_at": now,
        }
        for flag in classification.flags
    ]


class Ingestor:
    def __init__(self, home: Home, classifier: Classifier, on_progress: ProgressCallback | None = None,
                 on_failure: Callable[[ReadFailure], None] | None = None,
                 on_notice: Callable[[str], None] | None = None, batch_size: int = BATCH_SIZE):
        self.home = home
        self.classifier = classifier
        self.on_progress = on_progress or (lambda *_: None)
        self.on_failure = on_failure or (lambda _: None)
        self.on_notice = on_notice or (lambda _: None)  # warnings and skipped files, one line each
        self.batch_size = batch_size
        self.summary = IngestSummary()
        self._pending: dict[str, tuple[Document, str]] = {}

    def run(self, paths: list[Path], options: ReadOptions) -> IngestSummary:
        with exclusive(self.home.path, "ingest"):
            return self._run_locked(paths, options)

    def _run_locked(self, paths: list[Path], options: ReadOptions) -> IngestSummary:
        records = self.home.records
        started = time.perf_counter()
        self.summary.run_id = records.start_run("ingest")
        status = "failed"
        try:
            for item in read_all(paths, options, on_progress=self.on_progress):
                if isinstance(item, ReadFailure):
                    self._fail(item)
                elif isinstance(item, SkippedFile):
                    self.summary.skipped_files.append(str(item))
                    self.on_notice(f"skipped {item}")
                else:
                    self._add(item)
            self._flush()
            status = "ok" if self.summary.failed == 0 else "partial"
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        finally:
            self.summary.seconds = round(time.perf_counter() - started, 3)
            # LLM backends report tokens, cost and fallbacks; they belong to the run's record.
            self.summary.classifier_stats = dict(self.classifier.stats)
            extra = {"duplicates": self.summary.duplicates, "warnings": self.summary.warnings}
            if self.summary.classifier_stats:
                extra["classifier"] = self.summary.classifier_stats
            detail = json.dumps(extra)
            records.finish_run(self.summary.run_id, status, self.summary.counts(), self.summary.seconds, detail)
        return self.summary

    def _add(self, item: ReadDocument) -> None:
        self.summary.read += 1
        for line in item.warning_lines():
            self.summary.warnings += 1
            self.on_notice(f"warning {line}")
        if item.document.id in self._pending:
            # The same id twice in one night: the later version wins, as it would across nights.
            self.summary.skipped += 1
        self._pending[item.document.id] = (item.document, item.origin)
        if len(self._pending) >= self.batch_size:
            self._flush()

    def _fail(self, failure: ReadFailure) -> None:
        self.summary.failed += 1
        self.summary.failures.append(str(failure))
        self.home.records.record_failure(self.summary.run_id, failure.path, failure.line, failure.reason, failure.raw)
        with open(self.home.quarantine_dir / f"run-{self.summary.run_id}.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"path": failure.path, "line": failure.line, "reason": failure.reason, "raw": failure.raw}, ensure_ascii=False) + "\n")
        self.on_failure(failure)

    def _flush(self) -> None:
        if not self._pending:
            return
        batch = list(self._pending.values())
        self._pending = {}
        embed_model = self.home.embedder.name
        known = self.home.records.known_versions(doc.id for doc, _ in batch)
        # A document the store has not seen under its id may be one it holds under another id:
        # the same note in an export without ids, or through a second, overlapping folder.
        stored_under = self.home.records.ids_by_text_key(doc.text_key for doc, _ in batch if doc.id not in known)
        todo: list[tuple[Document, str]] = []
        keys_in_batch: set[str] = set()
        for doc, origin in batch:
            previous = known.get(doc.id)
            if previous == (doc.content_hash, embed_model):
                self.summary.skipped += 1
                continue
            if not previous and (doc.text_key in stored_under or doc.text_key in keys_in_batch):
                self.summary.duplicates += 1
                continue
            if previous:
                self.summary.updated += 1
            else:
                self.summary.new += 1
            keys_in_batch.add(doc.text_key)
            todo.append((doc, origin))
        if not todo:
            return
        docs = [doc for doc, _ in todo]
        for doc in docs:
            if not doc.language:
                doc.language = detect_language(doc.text)
        embedded = embed_texts([doc.text for doc in docs], self.home.embedder, [doc.language for doc in docs])
        classifications = self.classifier.classify(docs, embedded)
        now = utcnow()
        stored = []
        for (doc, origin), emb, classification in zip(todo, embedded, classifications):
            row = doc.model_dump(exclude={"labels", "evidence", "labelled_signals"})
            row.update(content_hash=doc.content_hash, text_key=doc.text_key, origin=origin, embed_model=embed_model, run_id=self.summary.run_id, ingested_at=now)
            rows = flag_rows(classification, doc.account_id)
            self.summary.flagged += bool(rows)
            stored.append(StoredDocument(row=row, spans=emb.spans, vectors=emb.vectors, flags=rows))
        # Vectors first: if the process dies between the two, the next run redoes this batch
        # and the upsert simply overwrites; the record store stays the source of truth.
        self.home.vectors.upsert([s.row for s in stored], [document_vector(e) for e in embedded])
        self.home.records.save_documents(stored)
