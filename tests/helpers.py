"""Small builders shared by tests: documents, e-mails, a home, an ingestor."""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path


def write_jsonl(path: Path, docs: list[dict]) -> Path:
    path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    return path


def doc(i: int, text: str | None = None, account: str = "acme", **extra) -> dict:
    return {
        "id": f"d-{i:04d}",
        "account_id": account,
        "account_name": account.title(),
        "source": "call_note",
        "date": f"2026-0{1 + i % 9}-1{i % 10}",
        "text": text or f"Weekly sync number {i}. We walked through the dashboard filters and the export settings.",
        **extra,
    }


def email_message(sender: str, to: str, subject: str, body: str, html: str | None = None, message_id: str | None = None,
                  date: str = "Tue, 14 Apr 2026 09:30:00 +0200", account: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = date
    if message_id:
        message["Message-ID"] = f"<{message_id}>"
    if account:
        message["X-Undertow-Account"] = account
    if html is not None and body == "":
        message.set_content(html, subtype="html")
    else:
        message.set_content(body)
        if html is not None:
            message.add_alternative(html, subtype="html")
    return message


def run_ingest(paths: list[Path], settings, **options):
    from undertow.extractor.local_backend import LocalClassifier
    from undertow.ingest.pipeline import Ingestor
    from undertow.ingest.sources import ReadOptions
    from undertow.store.home import Home

    home = Home(settings)
    summary = Ingestor(home, LocalClassifier()).run(paths, ReadOptions(**options))
    return home, summary


def seed_flagged_document(records, account: str, doc_id: str, date, signal: str, confidence: float, text: str) -> None:
    """A stored document with one flag, as ingestion would leave it, without running a classifier."""
    import datetime as dt

    import numpy as np

    from undertow.store.records import StoredDocument

    row = {"id": doc_id, "account_id": account, "account_name": "", "source": "email", "date": date, "author": "", "language": "en",
           "subject": "", "text": text, "content_hash": doc_id, "origin": "test", "embed_model": "test", "run_id": None,
           "ingested_at": dt.datetime(2026, 1, 1)}
    flag = {"doc_id": doc_id, "signal": signal, "account_id": account, "confidence": confidence,
            "evidence": json.dumps([{"quote": text, "start": 0, "end": len(text)}]), "backend": "test", "model_version": "t",
            "created_at": dt.datetime(2026, 1, 1)}
    records.save_documents([StoredDocument(row=row, spans=[(0, len(text))], vectors=np.zeros((1, 4), np.float32), flags=[flag])])
