"""The record store behaves the same on SQLite and PostgreSQL: every test runs on both (`record_url`)."""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import sys

import numpy as np
import pytest

from helpers import doc, run_ingest, write_jsonl
from sqlalchemy import update

from undertow.store import schema
from undertow.store.records import RecordStore, StoredDocument, engine_url

DAY = dt.datetime(2026, 3, 2, 9, 30)


def stored(doc_id: str, account: str = "acme", text: str = "The budget is frozen.", signals: tuple[str, ...] = (), **row) -> StoredDocument:
    base = {
        "id": doc_id, "account_id": account, "account_name": account.title(), "source": "email", "date": DAY, "author": "",
        "language": "en", "subject": "", "text": text, "content_hash": f"hash-{doc_id}-{text}", "text_key": f"key-{account}-{text}",
        "origin": "test.jsonl", "embed_model": "test-model", "run_id": None, "ingested_at": DAY,
    }
    flags = [
        {"doc_id": doc_id, "signal": signal, "account_id": account, "confidence": 0.75, "backend": "local", "model_version": "v1",
         "evidence": json.dumps([{"quote": text, "start": 0, "end": len(text)}]), "created_at": DAY}
        for signal in signals
    ]
    vectors = np.arange(8, dtype=np.float32).reshape(2, 4) / 8
    return StoredDocument({**base, **row}, [(0, 4), (5, len(text))], vectors, flags)


def test_documents_and_flags_read_back_as_written(record_url):
    records = RecordStore(record_url)
    records.save_documents([stored("a-1", signals=("budget_pressure",)), stored("b-1", account="globex", text="All good.", date=None)])
    row = records.get_document("a-1")
    assert (row["date"], row["text"], json.loads(row["sentence_spans"])) == (DAY, "The budget is frozen.", [[0, 4], [5, 21]])
    assert np.frombuffer(row["sentence_vectors"], np.float16).reshape(2, 4).tolist() == (np.arange(8).reshape(2, 4) / 8).tolist()
    (flag,) = records.flags("acme")
    assert (flag["signal"], flag["confidence"], flag["evidence"][0]["quote"], flag["date"]) == ("budget_pressure", 0.75, "The budget is frozen.", DAY)
    assert records.known_versions(["a-1", "missing"]) == {"a-1": ("hash-a-1-The budget is frozen.", "test-model")}
    assert records.ids_by_text_key(["key-globex-All good.", "nope"]) == {"key-globex-All good.": "b-1"}
    assert sorted((a["account_id"], a["documents"]) for a in records.accounts()) == [("acme", 1), ("globex", 1)]
    assert [d["id"] for d in records.iter_documents(account_id="globex")] == ["b-1"]


def test_the_list_of_accounts_is_read_from_an_index_not_from_the_documents(tmp_path):
    records = RecordStore(f"sqlite:///{tmp_path / 'undertow.db'}")
    records.save_documents([stored("a-1"), stored("a-2", text="Renewal in May."), stored("b-1", account="globex", text="All good.")])
    assert sorted((a["account_id"], a["account_name"], a["documents"]) for a in records.accounts()) == [("acme", "Acme", 2), ("globex", "Globex", 1)]
    with records.engine.connect() as conn:
        query = str(records._accounts_query().compile(conn))
        plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {query}"))
    assert "COVERING INDEX ix_documents_account_names" in plan, plan


def test_a_new_version_replaces_the_document_and_its_flags(record_url):
    records = RecordStore(record_url)
    records.save_documents([stored("a-1", signals=("budget_pressure", "champion_departure"))])
    records.save_documents([stored("a-1", text="Dana is leaving.", signals=("champion_departure",))])
    assert records.get_document("a-1")["text"] == "Dana is leaving."
    assert [f["signal"] for f in records.flags()] == ["champion_departure"]
    assert records.counts() == {"documents": 1, "accounts": 1, "flags": 1, "flagged_documents": 1, "feedback": 0, "failures": 0}


def test_a_rejected_flag_is_not_counted_as_a_flag(record_url):
    records = RecordStore(record_url)
    records.save_documents([stored("a-1", signals=("budget_pressure", "champion_departure")), stored("b-1", account="globex", signals=("churn_intent",))])
    records.add_feedback("b-1", "churn_intent", False, author="sam")
    records.add_feedback("a-1", "budget_pressure", False, author="sam")
    counted = records.counts()
    assert (counted["flags"], counted["flagged_documents"], counted["feedback"]) == (1, 1, 2)
    assert len(records.flags()) == counted["flags"]


def test_a_csm_verdict_outweighs_the_classifier_in_what_the_store_reads_back(record_url):
    records = RecordStore(record_url)
    records.save_documents([stored("a-1", signals=("budget_pressure", "champion_departure"))])
    records.add_feedback("a-1", "budget_pressure", False, author="kim")  # a false flag
    records.add_feedback("a-1", "churn_intent", True, author="kim")  # a miss, flagged by hand
    records.add_flags([{**stored("a-1", signals=("churn_intent",)).flags[0], "backend": "feedback", "confidence": 1.0}])
    assert sorted(f["signal"] for f in records.flags()) == ["champion_departure", "churn_intent"]
    assert sorted(f["signal"] for f in records.flags("acme", include_rejected=True)) == ["budget_pressure", "champion_departure", "churn_intent"]
    assert records.flagged_signals("a-1") == {"budget_pressure", "champion_departure", "churn_intent"}

    # A classifier that disagrees later (a reclassify, a new version of the text) cannot undo either verdict.
    records.replace_flags(["a-1"], stored("a-1", signals=("budget_pressure",)).flags)
    assert [(f["signal"], f["backend"]) for f in records.flags()] == [("churn_intent", "feedback")]
    records.save_documents([stored("a-1", text="The budget is frozen again.", signals=("champion_departure",))])
    assert sorted((f["signal"], f["backend"]) for f in records.flags()) == [("champion_departure", "local"), ("churn_intent", "feedback")]

    # Taking verdicts back: the flag a confirmation made goes, a classifier's flag counts again.
    records.replace_flags(["a-1"], stored("a-1", signals=("budget_pressure", "champion_departure")).flags)
    assert records.withdraw_feedback("a-1", ["budget_pressure", "churn_intent", "strategy_shift"], confirmed_by="feedback") == [
        "budget_pressure", "churn_intent"]
    assert sorted(f["signal"] for f in records.flags()) == ["budget_pressure", "champion_departure"] and records.feedback() == []


def test_words_stored_under_another_id_are_not_stored_again(record_url):
    """The database refuses a second row with the same text_key; the store names what it left out."""
    records = RecordStore(record_url)
    records.save_documents([stored("crm-17", signals=("budget_pressure",))])
    not_stored = records.save_documents([stored("export-9", signals=("budget_pressure",)), stored("crm-18", text="New words.")])
    assert not_stored == ["export-9"]
    assert sorted(d["id"] for d in records.iter_documents()) == ["crm-17", "crm-18"]
    assert {f["doc_id"] for f in records.flags()} == {"crm-17"}


def test_a_conflict_that_is_not_a_duplicate_is_raised(record_url):
    from sqlalchemy.exc import IntegrityError

    records = RecordStore(record_url)
    with pytest.raises(IntegrityError):  # two rows of one batch with the same words: a caller's bug, not a race
        records.save_documents([stored("a-1"), stored("a-2")])
    assert records.counts()["documents"] == 0, "a failed batch must leave nothing behind"


def _mark_run(records, run_id: int, owner: dict) -> None:
    with records.engine.begin() as conn:
        conn.execute(update(schema.runs).where(schema.runs.c.id == run_id).values(detail=json.dumps(owner)))


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_runs_failures_feedback_and_snapshots(record_url):
    records = RecordStore(record_url)
    killed = records.start_run("ingest")
    _mark_run(records, killed, {"host": socket.gethostname(), "pid": _dead_pid()})  # this machine's, its process gone
    elsewhere = records.start_run("ingest")
    _mark_run(records, elsewhere, {"host": "another-machine", "pid": 1})  # a run on a machine sharing the store
    run = records.start_run("ingest")
    records.record_failure(run, "notes.jsonl", 3, "text is empty", '{"id": 1}')
    records.finish_run(run, "partial", {"read": 4, "new": 3, "updated": 0, "skipped": 0, "failed": 1}, 1.25, "{}")
    assert [(r["id"], r["status"]) for r in records.last_runs()] == [(run, "partial"), (elsewhere, "running"), (killed, "interrupted")]
    assert records.last_runs(1)[0]["new"] == 3 and records.counts()["failures"] == 1

    records.add_feedback("a-1", "budget_pressure", True, author="sam")
    records.add_feedback("a-1", "budget_pressure", False, author="kim")
    assert [(f["present"], f["author"]) for f in records.feedback()] == [(False, "kim")]

    day = dt.datetime(2026, 3, 1)
    snapshot = {"account_id": "acme", "as_of": day, "quant_score": 70.0, "qual_risk": 0.5, "health_score": 61.0, "band": "amber",
                "signals": "budget_pressure", "review": None}
    records.save_snapshots([snapshot, {**snapshot, "account_id": "globex"}])
    records.save_snapshots([{**snapshot, "health_score": 40.0, "band": "red"}])  # the same day again: replaces
    records.save_snapshots([{**snapshot, "as_of": day + dt.timedelta(days=1)}])
    assert [(s["as_of"], s["band"]) for s in records.snapshots("acme")] == [(day, "red"), (day + dt.timedelta(days=1), "amber")]
    assert len(records.snapshots(before=day + dt.timedelta(days=1))) == 2
    assert sorted(records.scored_account_ids()) == ["acme", "globex"]
    assert {s["account_id"] for s in records.snapshots_on(day)} == {"acme", "globex"}


def test_postgres_urls_as_people_write_them_use_psycopg():
    assert engine_url("postgresql://u:p%40ss@db:5432/undertow") == "postgresql+psycopg://u:p%40ss@db:5432/undertow"
    assert engine_url("postgresql+psycopg://u@db/undertow") == "postgresql+psycopg://u@db/undertow"
    assert engine_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


@pytest.mark.slow
def test_ingest_twice_into_postgres(tmp_path, home, monkeypatch, postgres_url):
    """The whole ingest path on PostgreSQL, with the URL as the README writes it: the second run stores nothing."""
    monkeypatch.setenv("UNDERTOW_DATABASE_URL", postgres_url.replace("postgresql+psycopg://", "postgresql://"))
    from undertow.settings import load_settings

    path = write_jsonl(tmp_path / "notes.jsonl", [doc(i) for i in range(4)] + [doc(9, text="Weekly sync number 0.  We walked through the dashboard filters and the export settings.", date="2026-01-10")])
    store, first = run_ingest([path], load_settings(home))
    _, second = run_ingest([path], load_settings(home))
    assert (first.new, first.duplicates, second.new, second.skipped) == (4, 1, 0, 4)
    assert store.records.counts()["documents"] == 4 and not (home / "undertow.db").exists()
