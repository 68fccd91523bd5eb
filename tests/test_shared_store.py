"""Several homes, one store: records in one database (PostgreSQL across machines), vectors in one
Chroma server. Writers on different homes take turns, and no document is stored twice."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import create_engine, func, select

from helpers import doc, run_ingest, write_jsonl
from test_chroma_server import chroma_server  # noqa: F401  (a fixture: `chroma run` on loopback)
from undertow.store import schema
from undertow.store.lock import StoreBusy, exclusive, one_nightly
from undertow.store.records import RecordStore, StoredDocument, engine_url


def test_writers_on_two_homes_sharing_postgres_take_turns(tmp_path, postgres_url):
    first, second = tmp_path / "machine-a", tmp_path / "machine-b"
    first.mkdir(), second.mkdir()
    with exclusive(first, "ingest", postgres_url):
        with pytest.raises(StoreBusy, match=r"is busy: `undertow ingest` \(pid \d+ on .+\) holds its lock") as refused, \
                exclusive(second, "feedback", postgres_url):
            pass
        assert postgres_url.rsplit("/", 1)[1] in str(refused.value)
    with exclusive(second, "feedback", postgres_url):  # freed when the first writer finished
        pass


def test_homes_with_their_own_sqlite_files_do_not_wait_for_each_other(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir(), second.mkdir()
    with exclusive(first, "ingest", f"sqlite:///{first / 'undertow.db'}"), exclusive(second, "ingest", f"sqlite:///{second / 'undertow.db'}"):
        pass


def test_a_second_nightly_on_another_home_sharing_postgres_is_refused(tmp_path, postgres_url):
    first, second = tmp_path / "machine-a", tmp_path / "machine-b"
    first.mkdir(), second.mkdir()
    with one_nightly(first, postgres_url):
        with pytest.raises(StoreBusy, match="`undertow nightly`.*holds its lock; this run did nothing"), one_nightly(second, postgres_url):
            pass
        with exclusive(second, "ingest", postgres_url):  # a nightly's ingests take the writer lock, not this one
            pass


def test_the_database_lock_frees_itself_when_its_holder_dies(tmp_path, postgres_url):
    holder_home = tmp_path / "machine-a"
    holder_home.mkdir()
    hold = (
        "import sys, time; from pathlib import Path; from undertow.store.lock import exclusive\n"
        "with exclusive(Path(sys.argv[1]), 'ingest', sys.argv[2]):\n    print('held', flush=True); time.sleep(120)"
    )
    holder = subprocess.Popen([sys.executable, "-c", hold, str(holder_home), postgres_url], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        other = tmp_path / "machine-b"
        other.mkdir()
        with pytest.raises(StoreBusy, match=f"pid {holder.pid} "), exclusive(other, "ingest", postgres_url):
            pass
    finally:
        holder.kill()
        holder.wait(timeout=10)
    deadline = time.monotonic() + 10  # the server notices the closed connection within moments
    while True:
        try:
            with exclusive(other, "ingest", postgres_url):
                break
        except StoreBusy:
            assert time.monotonic() < deadline, "the lock outlived its holder"
            time.sleep(0.1)


@pytest.mark.slow
def test_words_another_home_stores_meanwhile_count_as_duplicates(tmp_path, home, monkeypatch, record_url):
    """Between ingest's check of the text keys and its write, another home stores one of the same
    notes under its own id: the database refuses the second copy and ingest counts a duplicate."""
    monkeypatch.setenv("UNDERTOW_DATABASE_URL", record_url)
    from undertow.store.vectors import VectorStore

    from undertow.settings import load_settings

    notes = [doc(i) for i in range(3)]
    path = write_jsonl(tmp_path / "notes.jsonl", notes)
    other_home = RecordStore(record_url)
    upsert = VectorStore.upsert

    def the_other_home_writes_first(self, rows, vectors):
        upsert(self, rows, vectors)
        other_home.save_documents([as_stored({**notes[1], "id": "other-export-1"})])

    monkeypatch.setattr(VectorStore, "upsert", the_other_home_writes_first)
    store, summary = run_ingest([path], load_settings(home))
    assert (summary.new, summary.duplicates) == (2, 1)
    assert summary.flagged == len({flag["doc_id"] for flag in store.records.flags()}), "flagged counts stored documents only"
    assert sorted(row["id"] for row in store.records.iter_documents()) == ["d-0000", "d-0002", "other-export-1"]
    assert store.vectors.count() == 2, "the refused copy's vector must not stay in the index"


def as_stored(note: dict) -> StoredDocument:
    """`note` as another home's ingest would store it (keyed by its words), without embedding it."""
    from undertow.documents import Document

    document = Document.model_validate(note)
    row = document.model_dump(exclude={"labels", "evidence", "labelled_signals"})
    row.update(content_hash=document.content_hash, text_key=document.text_key, origin="other home", embed_model="test",
               run_id=None, ingested_at=dt.datetime(2026, 1, 1))
    return StoredDocument(row, [(0, len(document.text))], np.zeros((1, 4), np.float32), [])


def _ingest(home: Path, folder: Path, database_url: str, chroma_url: str) -> subprocess.Popen:
    undertow = Path(sys.executable).parent / "undertow"
    env = {**os.environ, "UNDERTOW_HOME": str(home), "UNDERTOW_DATABASE_URL": database_url, "UNDERTOW_CHROMA_URL": chroma_url}
    return subprocess.Popen([str(undertow), "ingest", str(folder), "--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_two_machines_ingesting_one_folder_store_each_document_once(tmp_path, postgres_url, chroma_server):  # noqa: F811
    """Two `undertow ingest` processes, two homes, one PostgreSQL and one Chroma server, started
    together on a folder that holds each note twice (with ids, and in a CRM export without)."""
    folder = tmp_path / "exports"
    folder.mkdir()
    notes = [doc(i, date=f"2026-03-{10 + i}") for i in range(6)]
    write_jsonl(folder / "notes.jsonl", notes)
    rows = [f'acme,2026-03-{10 + i},"{note["text"]}"' for i, note in enumerate(notes)]
    (folder / "crm.csv").write_text("Organization,Created at,Description\n" + "\n".join(rows) + "\n", encoding="utf-8")

    homes = [tmp_path / "machine-a", tmp_path / "machine-b"]
    processes = {home: _ingest(home, folder, postgres_url, chroma_server) for home in homes}
    new_total, refusals = 0, []
    while processes:
        home, process = processes.popitem()
        out, err = process.communicate(timeout=300)
        if process.returncode == 2 and "is busy" in err:
            refusals.append(err.strip())  # the other machine held the lock: run again, as cron would tomorrow
            processes[home] = _ingest(home, folder, postgres_url, chroma_server)
            continue
        assert process.returncode == 0, err
        summary = json.loads(out)
        assert summary["read"] == 12 and summary["new"] + summary["skipped"] + summary["duplicates"] == 12, summary
        new_total += summary["new"]
    assert all("`undertow ingest`" in refusal and len(refusal.splitlines()) == 1 for refusal in refusals), refusals

    engine = create_engine(engine_url(postgres_url))
    with engine.connect() as conn:
        documents = conn.execute(select(func.count()).select_from(schema.documents)).scalar_one()
        keys = conn.execute(select(func.count(func.distinct(schema.documents.c.text_key)))).scalar_one()
    engine.dispose()
    assert new_total == documents == keys == len(notes)

    import chromadb

    client = chromadb.HttpClient(host="127.0.0.1", port=int(chroma_server.rsplit(":", 1)[1]))
    (collection,) = client.list_collections()
    assert collection.count() == len(notes)
    assert not any((home / "undertow.db").exists() or (home / "chroma").exists() for home in homes)
