"""`undertow doctor`: damaged stores are named with their fix, never a traceback, and the vector
index comes back from the record store alone."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from helpers import doc, run_ingest, write_jsonl
from undertow.cli.app import app

TEXTS = [
    "Our sponsor Dana told us she is leaving the company at the end of the month.",
    "The finance team asked for a discount because the budget was cut by a third.",
    "They are piloting a cheaper tool from another vendor in the Berlin office.",
    "Thanks for the session on dashboards, the team found the filters useful.",
]


@pytest.fixture()
def ingested(tmp_path, settings):
    path = write_jsonl(tmp_path / "notes.jsonl", [doc(i, text) for i, text in enumerate(TEXTS)])
    home, summary = run_ingest([path], settings)
    assert summary.new == len(TEXTS)
    return home


def doctor(*args: str):
    return CliRunner().invoke(app, ["doctor", *args])


def report(result) -> dict:
    return json.loads(result.stdout)


def check(result, name: str) -> dict:
    return next(c for c in report(result)["checks"] if c["name"] == name)


def test_a_healthy_home_passes_and_reports_counts(ingested):
    result = doctor("--json")
    assert result.exit_code == 0, result.output
    assert report(result)["ok"] is True
    assert report(result)["documents"] == {ingested.embedder.name: len(TEXTS)}
    assert {c["status"] for c in report(result)["checks"]} == {"ok"}
    assert f"{len(TEXTS)} vectors" in check(result, "vector store")["detail"]
    assert f"{len(TEXTS)} documents, integrity ok" in check(result, "record store")["detail"]

    text = doctor()
    assert text.exit_code == 0
    assert text.stdout.splitlines()[0].startswith("ok ")


def test_a_fresh_home_passes_and_the_check_creates_no_database(home):
    result = doctor("--json")
    assert result.exit_code == 0, result.output
    assert not (home / "undertow.db").exists()
    assert not (home / "chroma").exists()


def test_a_file_that_is_not_a_database_is_reported_and_every_command_says_so_in_one_line(home):
    home.mkdir(parents=True, exist_ok=True)
    (home / "undertow.db").write_bytes(b"this is not a database " * 200)

    result = doctor("--json")
    assert result.exit_code == 2
    records = check(result, "record store")
    assert records["status"] == "problem" and "not a readable SQLite database" in records["detail"]
    assert "backup" in records["fix"]
    assert check(result, "vector store")["status"] == "skipped"

    refused = doctor("--rebuild-vectors")
    assert refused.exit_code == 2 and "not rebuilt" in refused.stderr
    assert not [p for p in home.iterdir() if p.name.startswith("chroma")], "nothing to rebuild from, nothing moved"

    status = CliRunner().invoke(app, ["status"])
    assert status.exit_code == 2
    assert "Traceback" not in status.output
    assert status.stderr.startswith("error: the record store")
    assert "`undertow doctor`" in status.stderr.replace("\n", " ")


def test_deleted_vectors_are_reported_and_rebuilt_from_the_records_without_embedding(ingested, embedder, monkeypatch):
    from undertow.extractor.embedding import MultilingualUSE
    from undertow.extractor.sentences import document_vector, embed_texts
    from undertow.settings import load_settings
    from undertow.store.home import Home

    shutil.rmtree(ingested.path / "chroma")
    result = doctor("--json")
    assert result.exit_code == 2
    assert f"0 vectors for {len(TEXTS)} documents" in check(result, "vector store")["detail"]
    assert "--rebuild-vectors" in check(result, "vector store")["fix"]

    # The rebuild must read the stored sentence vectors: embedding anything now is a failure.
    with monkeypatch.context() as patch:
        patch.setattr(MultilingualUSE, "embed", lambda *a, **k: pytest.fail("the rebuild re-embedded text"))
        rebuilt = doctor("--rebuild-vectors", "--json")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert report(rebuilt)["rebuilt"]["documents"] == len(TEXTS)

    fresh = Home(load_settings())
    assert fresh.vectors.count() == len(TEXTS)
    for i, text in enumerate(TEXTS):
        query = document_vector(embed_texts([text], embedder)[0])
        best_id, similarity = fresh.vectors.search(query, k=1)[0]
        assert best_id == f"d-{i:04d}" and similarity > 0.99


def test_a_document_whose_vector_in_the_index_is_another_is_reported(ingested):
    from undertow.settings import load_settings
    from undertow.store.home import Home

    home = Home(load_settings())
    first = min(home.records.iter_documents(), key=lambda row: row["id"])  # the doctor looks up the first by id
    held = home.vectors.collection.get(ids=[first["id"]], include=["embeddings", "metadatas"])
    other = -np.asarray(held["embeddings"][0], dtype=np.float32)
    home.vectors.collection.upsert(ids=[first["id"]], embeddings=[other], metadatas=held["metadatas"])
    result = doctor("--json")
    assert result.exit_code == 2, result.output
    assert first["id"] in check(result, "vector store")["detail"]


def test_a_garbled_index_is_reported_and_moved_aside_not_deleted(ingested):
    garbage = b"garbled " * 1000
    (ingested.path / "chroma" / "chroma.sqlite3").write_bytes(garbage)

    result = doctor("--json")
    assert result.exit_code == 2
    vectors = check(result, "vector store")
    assert vectors["status"] == "problem" and "cannot be opened" in vectors["detail"]

    rebuilt = doctor("--rebuild-vectors", "--json")
    assert rebuilt.exit_code == 0, rebuilt.output
    aside = [p for p in ingested.path.iterdir() if p.name.startswith("chroma.damaged-")]
    assert len(aside) == 1 and report(rebuilt)["rebuilt"]["moved_aside"] == str(aside[0])
    assert (aside[0] / "chroma.sqlite3").read_bytes() == garbage


def test_a_check_that_crashes_reading_the_index_reports_a_damaged_index(home, settings, monkeypatch):
    from undertow.store import doctor as doctor_module

    (home / "chroma").mkdir(parents=True)
    # What a corrupt HNSW file does to the reader: native code dies with SIGSEGV.
    monkeypatch.setattr(doctor_module, "PROBE_CODE", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")
    diagnosis = doctor_module.diagnose(settings)
    vectors = next(c for c in diagnosis.checks if c.name == "vector store")
    assert not diagnosis.ok
    assert vectors.status == "problem" and "vector index damaged" in vectors.detail and "SIGSEGV" in vectors.detail


def test_a_damaged_user_model_is_reported_with_its_fix(home):
    from undertow.extractor.local import bundled_model_path

    (home / "models").mkdir(parents=True)
    (home / "models" / "local.npz").write_bytes(bundled_model_path().read_bytes()[:4000])
    result = doctor("--json")
    assert result.exit_code == 2
    classifier = check(result, "classifier")
    assert classifier["status"] == "problem" and "local.npz is damaged" in classifier["detail"]
    assert "delete it to fall back to the bundled model" in classifier["fix"]


def test_stores_out_of_step_while_an_ingest_writes_are_not_called_damaged(ingested):
    from undertow.store.lock import exclusive

    some_id = ingested.vectors.collection.get(limit=1)["ids"][0]
    ingested.vectors.collection.delete(ids=[some_id])  # as mid-batch: vectors and records differ
    with exclusive(ingested.path, "ingest"):
        busy = doctor("--json")
    assert busy.exit_code == 0, busy.output
    assert check(busy, "vector store")["status"] == "skipped" and "`undertow ingest`" in check(busy, "vector store")["detail"]
    after = doctor("--json")
    assert after.exit_code == 2 and check(after, "vector store")["status"] == "problem"
