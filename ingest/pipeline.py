"""The nightly job: read, dedupe, embed, classify and store, one transaction per batch.

Safe to re-run (a document's id comes from its source or its content, and the same words under
another id are not stored twice), to kill (a batch is stored whole or not at all, and the vector
upsert is idempotent), and to run twice at once (a lock on the home folder).

With `workers` above 1 the batches are embedded in worker processes (`ingest/parallel.py`) while
this process reads ahead, classifies and writes. What a batch stores is decided when it is
written, in reading order, against the store as it is then: so a run stores exactly what one
process would, and homes sharing a PostgreSQL store (which write in turns, `ingest/turns.py`)
never store the same document twice.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from pathlib import Path

from undertow.documents import Document
from undertow.extractor.backends import Classifier
from undertow.extractor.results import Classification
from undertow.extractor.sentences import EmbeddedText, document_vector
from undertow.ingest.ids import RunIds, apart_from_other_accounts
from undertow.ingest.items import ReadDocument, ReadFailure, SkippedFile
from undertow.ingest.parallel import Embedded, embed_documents, open_embedding
from undertow.ingest.sources import ReadOptions, read_all
from undertow.ingest.turns import WriterTurns
from undertow.store.home import Home
from undertow.store.lock import exclusive
from undertow.store.records import StoredDocument, utcnow

# Documents checked, classified and stored together: one transaction and one vector upsert. The
# vector index's cost per upsert call grows with its size, so 256 at a time cost its insert about
# a third less CPU than 64 at 40,000 documents (README, Sizing).
BATCH_SIZE = 256


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


@dataclass
class _Batch:
    """A batch between reading and writing: its documents in reading order, and the embedding of
    those the store may need (`candidates`), running in a worker or already done."""

    items: list[tuple[Document, str]]
    candidates: list[Document]
    embedding: list[Future]
    text_keys: dict[str, str]  # id -> Document.text_key, a digest of the whole text: made once


class Ingestor:
    def __init__(self, home: Home, classifier: Classifier, on_progress: ProgressCallback | None = None,
                 on_failure: Callable[[ReadFailure], None] | None = None,
                 on_notice: Callable[[str], None] | None = None, batch_size: int = BATCH_SIZE, workers: int = 1):
        self.home = home
        self.classifier = classifier
        self.on_progress = on_progress or (lambda *_: None)
        self.on_failure = on_failure or (lambda _: None)
        self.on_notice = on_notice or (lambda _: None)  # warnings and skipped files, one line each
        self.batch_size = batch_size
        self.workers = workers
        self.summary = IngestSummary()
        self._pending: dict[str, tuple[Document, str]] = {}
        self._in_flight: deque[_Batch] = deque()
        self._run_ids = RunIds(self._notice)

    def run(self, paths: list[Path], options: ReadOptions) -> IngestSummary:
        # The home's lock for the whole run; a shared PostgreSQL store's writer lock batch by batch.
        with exclusive(self.home.path, "ingest"), WriterTurns(self.home.settings.sqlite_url, "ingest", self.on_notice) as turns:
            self._turns = turns
            self._embedding = open_embedding(self.workers, self.home.embedder, self.home.settings.embedding)
            try:
                return self._run_locked(paths, options)
            finally:
                self._in_flight.clear()  # not written: the next run embeds them again
                self._embedding.close()

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
            self._hand_over()
            while self._in_flight:
                self._write(self._in_flight.popleft())
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

    def _notice(self, line: str) -> None:
        self.summary.warnings += line.startswith("warning ")
        self.on_notice(line)

    def _add(self, item: ReadDocument) -> None:
        self.summary.read += 1
        for line in item.warning_lines():
            self._notice(f"warning {line}")
        kept = self._run_ids.kept_apart(item)
        if kept is None:  # the same row again in the same file
            self.summary.duplicates += 1
            return
        item = kept
        if item.document.id in self._pending:
            # The same id twice in one night: the later version wins, as it would across nights.
            self.summary.skipped += 1
        self._pending[item.document.id] = (item.document, item.origin)
        if len(self._pending) >= self.batch_size:
            self._hand_over()

    def _fail(self, failure: ReadFailure) -> None:
        self.summary.failed += 1
        self.summary.failures.append(str(failure))
        self.home.records.record_failure(self.summary.run_id, failure.path, failure.line, failure.reason, failure.raw)
        with open(self.home.quarantine_dir / f"run-{self.summary.run_id}.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"path": failure.path, "line": failure.line, "reason": failure.reason, "raw": failure.raw}, ensure_ascii=False) + "\n")
        self.on_failure(failure)

    def _hand_over(self) -> None:
        """Send the pending batch to be embedded; write the oldest batches beyond those kept in flight."""
        if not self._pending:
            return
        items = apart_from_other_accounts(list(self._pending.values()), self.home.records, self._notice)
        self._pending = {}
        keys = {doc.id: doc.text_key for doc, _ in items}
        candidates = self._candidates(items, keys)
        embedding = self._embedding.submit([doc.text for doc in candidates], [doc.language for doc in candidates])
        self._in_flight.append(_Batch(items, candidates, embedding, keys))
        while len(self._in_flight) > self._embedding.ahead:
            self._write(self._in_flight.popleft())

    def _candidates(self, items: list[tuple[Document, str]], keys: dict[str, str]) -> list[Document]:
        """The documents worth embedding: all but those the store surely has already. A document
        whose fate hangs on a batch not yet written (its id or words are in it) is embedded, and
        `_write` decides; the rare one it wants but was not embedded is embedded there."""
        ids_in_flight = {doc_id for batch in self._in_flight for doc_id in batch.text_keys}
        keys_in_flight = {key for batch in self._in_flight for key in batch.text_keys.values()}
        known = self.home.records.known_versions(keys)
        stored_under = self.home.records.ids_by_text_key(keys.values())
        embed_model = self.home.embedder.name
        candidates, keys_taken = [], set()
        for doc, _ in items:
            key = keys[doc.id]
            holder = stored_under.get(key, doc.id)
            if doc.id in ids_in_flight or key in keys_in_flight or holder in ids_in_flight:
                candidates.append(doc)
            elif known.get(doc.id) != (doc.content_hash, embed_model) and holder == doc.id and key not in keys_taken:
                keys_taken.add(key)
                candidates.append(doc)
        return candidates

    def _write(self, batch: _Batch) -> None:
        embedded = self._received(batch.candidates, self._embedding.collect(batch.embedding))
        # Classified before the turn is taken, so other homes wait for a write, not a classifier.
        classified = self._classify(batch.candidates, embedded)
        with self._turns.turn():
            todo, known = self._to_store(batch.items, batch.text_keys)
            missed = [doc for doc, _ in todo if doc.id not in embedded]
            if missed:
                more = self._received(missed, embed_documents([d.text for d in missed], [d.language for d in missed], self.home.embedder))
                embedded.update(more)
                classified.update(self._classify(missed, more))
            if todo:
                self._store(todo, known, embedded, classified)

    @staticmethod
    def _received(docs: list[Document], results: list[Embedded]) -> dict[str, EmbeddedText]:
        """Each document's sentences and vectors by id; its language, if it stated none, as detected."""
        embedded = {}
        for doc, result in zip(docs, results):
            doc.language = result.language
            embedded[doc.id] = result.as_text(doc.text)
        return embedded

    def _classify(self, docs: list[Document], embedded: dict[str, EmbeddedText]) -> dict[str, Classification]:
        if not docs:
            return {}
        return {doc.id: c for doc, c in zip(docs, self.classifier.classify(docs, [embedded[doc.id] for doc in docs]))}

    def _to_store(self, items: list[tuple[Document, str]], keys: dict[str, str]) -> tuple[list[tuple[Document, str]], dict]:
        """The batch's documents to store, counted as new or updated; the others as unchanged or
        duplicates. Decided against the store as it is now, which is what makes it exact."""
        embed_model = self.home.embedder.name
        known = self.home.records.known_versions(keys)
        # A document may be one the store holds under another id: the same note in an export
        # without ids, or through a second, overlapping folder, or an edit that made it so.
        stored_under = self.home.records.ids_by_text_key(keys.values())
        todo: list[tuple[Document, str]] = []
        keys_in_batch: set[str] = set()
        for doc, origin in items:
            previous, key = known.get(doc.id), keys[doc.id]
            if previous == (doc.content_hash, embed_model):
                self.summary.skipped += 1
                continue
            if stored_under.get(key, doc.id) != doc.id or key in keys_in_batch:
                self.summary.duplicates += 1
                continue
            if previous:
                self.summary.updated += 1
            else:
                self.summary.new += 1
            keys_in_batch.add(key)
            todo.append((doc, origin))
        return todo, known

    def _store(self, todo: list[tuple[Document, str]], known: dict, embedded: dict[str, EmbeddedText],
               classified: dict[str, Classification]) -> None:
        embed_model = self.home.embedder.name
        now = utcnow()
        stored = []
        for doc, origin in todo:
            row = doc.model_dump(exclude={"labels", "evidence", "labelled_signals"})
            row.update(content_hash=doc.content_hash, text_key=doc.text_key, origin=origin, embed_model=embed_model, run_id=self.summary.run_id, ingested_at=now)
            rows = flag_rows(classified[doc.id], doc.account_id)
            self.summary.flagged += bool(rows)
            stored.append(StoredDocument(row=row, spans=embedded[doc.id].spans, vectors=embedded[doc.id].vectors, flags=rows))
        # Vectors first: if the process dies between the two, the next run redoes this batch
        # and the upsert simply overwrites; the record store stays the source of truth.
        self.home.vectors.upsert([s.row for s in stored], [document_vector(embedded[doc.id]) for doc, _ in todo])
        not_stored = set(self.home.records.save_documents(stored))
        if not_stored:
            self._stored_meanwhile([s for s in stored if s.row["id"] in not_stored], known)

    def _stored_meanwhile(self, items: list[StoredDocument], known: dict) -> None:
        """Another process sharing the store stored these words under other ids between the check
        above and the write: duplicates after all, and a new one's vector must not stay behind."""
        new_ids = [item.row["id"] for item in items if item.row["id"] not in known]
        self.summary.duplicates += len(items)
        self.summary.new -= len(new_ids)
        self.summary.updated -= len(items) - len(new_ids)
        self.summary.flagged -= sum(bool(item.flags) for item in items)
        self.home.vectors.delete(new_ids)
