"""`ingest --workers N`: embedding in worker processes stores exactly what one process stores, and
a worker that dies costs one clear failure, never a document lost or stored twice."""

from __future__ import annotations

import multiprocessing
import os
import signal

import numpy as np
import pytest

from helpers import doc, write_jsonl

pytestmark = pytest.mark.slow  # each run starts worker processes that load the embedding model

BATCH = 8  # small batches: several are in flight at once, so decisions must wait for the writes


def tricky_export(tmp_path):
    """Documents whose fate depends on batches written before them: the same words under a new id,
    an id on a second row with new words (another comment of that ticket: kept as ID#2), a row
    sent again unchanged, and a copy inside one batch; in several languages, so the workers must
    detect them too."""
    from undertow.eval.bench import generated_documents

    docs = generated_documents(60, seed=11)
    for i, d in enumerate(docs):
        d["id"], d["account_id"] = f"w-{i:03d}", f"acct-{i % 4}"
    docs[5]["text"] = "Ciao, il nostro responsabile lascia l'azienda a fine mese e non abbiamo ancora un sostituto."
    docs[6]["text"] = "Wir prüfen gerade ein günstigeres Werkzeug eines Mitbewerbers für dieselben Berichte."
    later = [
        {**docs[1], "id": "w-copy-of-1"},  # duplicate of a document one batch earlier, still in flight
        {**docs[2], "text": docs[2]["text"] + " Update: the renewal call moved to Friday."},  # a second row of w-002
        dict(docs[3]),  # sent again, unchanged
        {**docs[4], "id": "w-copy-of-4"},
    ]
    rows = docs[:12] + later + docs[12:] + [{**docs[40], "id": "w-copy-of-40"}, dict(docs[41])]
    rows.insert(30, {**docs[29], "id": "w-copy-in-batch"})
    return write_jsonl(tmp_path / "export.jsonl", rows), len({r["id"] for r in rows})


def ingest(home_dir, path, workers: int, **options):
    from undertow.extractor.local_backend import LocalClassifier
    from undertow.ingest.pipeline import Ingestor
    from undertow.ingest.sources import ReadOptions
    from undertow.settings import load_settings
    from undertow.store.home import Home

    home = Home(load_settings(home_dir))
    summary = Ingestor(home, LocalClassifier(), batch_size=BATCH, workers=workers, **options).run([path], ReadOptions())
    return home, summary


def stored(home) -> dict[str, dict]:
    return {row["id"]: row for row in home.records.iter_documents(with_vectors=True)}


def vectors(home, ids) -> dict[str, np.ndarray]:
    got = home.vectors.collection.get(ids=list(ids), include=["embeddings"])
    return dict(zip(got["ids"], np.asarray(got["embeddings"])))


def test_two_workers_store_exactly_what_one_process_stores(tmp_path):
    path, _ = tricky_export(tmp_path)
    one, one_summary = ingest(tmp_path / "one", path, workers=1)
    two, two_summary = ingest(tmp_path / "two", path, workers=2)

    counts = ("read", "new", "updated", "skipped", "duplicates", "flagged")
    assert {k: getattr(two_summary, k) for k in counts} == {k: getattr(one_summary, k) for k in counts}
    assert (one_summary.duplicates, one_summary.skipped, one_summary.updated) == (6, 0, 0), "the export's copies were not all caught"
    rows_one, rows_two = stored(one), stored(two)
    assert sorted(rows_two) == sorted(rows_one)
    assert "Update: the renewal call" in rows_two["w-002#2"]["text"] and "Update" not in rows_two["w-002"]["text"]
    for doc_id, row in rows_one.items():
        other = rows_two[doc_id]
        for column in ("text", "language", "content_hash", "text_key", "sentence_spans", "account_id"):
            assert other[column] == row[column], (doc_id, column)
        a, b = (np.frombuffer(r["sentence_vectors"], dtype=np.float16).astype(np.float32) for r in (row, other))
        np.testing.assert_allclose(a, b, atol=2e-3)
    assert {r["language"] for r in rows_two.values()} >= {"en", "it", "de"}

    flags_one = {(f["doc_id"], f["signal"]): f["confidence"] for f in one.records.flags()}
    flags_two = {(f["doc_id"], f["signal"]): f["confidence"] for f in two.records.flags()}
    assert flags_one.keys() == flags_two.keys() and flags_one
    assert all(abs(flags_one[key] - flags_two[key]) < 1e-3 for key in flags_one)

    assert one.vectors.count() == two.vectors.count() == len(rows_one)
    index_one, index_two = vectors(one, rows_one), vectors(two, rows_one)
    for doc_id in rows_one:
        np.testing.assert_allclose(index_one[doc_id], index_two[doc_id], atol=1e-4)

    # Run again, the export's two versions of w-002 replace each other in turn, whichever way it runs.
    again_one, again_two = (ingest(tmp_path / name, path, workers=n)[1] for name, n in (("one", 1), ("two", 2)))
    assert {k: getattr(again_two, k) for k in counts} == {k: getattr(again_one, k) for k in counts}
    assert again_two.new == 0


def test_a_batch_embedded_in_chunks_across_workers_is_stored_as_one_process_stores_it(tmp_path, monkeypatch):
    from undertow.ingest import parallel

    path, _ = tricky_export(tmp_path)
    one, one_summary = ingest(tmp_path / "one", path, workers=1)
    sent: list[int] = []
    submit = parallel.ProcessPoolExecutor.submit

    def counting(self, fn, texts, languages):
        sent.append(len(texts))
        return submit(self, fn, texts, languages)

    monkeypatch.setattr(parallel, "EMBED_CHUNK", 3)
    monkeypatch.setattr(parallel.ProcessPoolExecutor, "submit", counting)
    two, two_summary = ingest(tmp_path / "two", path, workers=2)
    assert max(sent) == 3, "a batch of 8 was not split into chunks for the workers"
    counts = ("read", "new", "updated", "skipped", "duplicates", "flagged")
    assert {k: getattr(two_summary, k) for k in counts} == {k: getattr(one_summary, k) for k in counts}
    rows_one, rows_two = stored(one), stored(two)
    assert sorted(rows_two) == sorted(rows_one)
    for doc_id, row in rows_one.items():
        assert [rows_two[doc_id][c] for c in ("text", "language", "sentence_spans")] == [row[c] for c in ("text", "language", "sentence_spans")]


def test_a_document_left_out_of_the_embedding_but_needed_at_the_write_is_embedded_there(tmp_path, monkeypatch):
    """What to embed is guessed ahead of the writes; the write decides. A guess that left out a
    document the store turns out to need (another home changed it meanwhile) must cost time only."""
    from undertow.ingest.pipeline import Ingestor

    path, _ = tricky_export(tmp_path)
    expected, expected_summary = ingest(tmp_path / "expected", path, workers=1)
    guess = Ingestor._candidates
    monkeypatch.setattr(Ingestor, "_candidates", lambda self, items, keys: guess(self, items, keys)[::2])
    got, summary = ingest(tmp_path / "got", path, workers=2)
    counts = ("new", "updated", "skipped", "duplicates", "flagged")
    assert {k: getattr(summary, k) for k in counts} == {k: getattr(expected_summary, k) for k in counts}
    rows, expected_rows = stored(got), stored(expected)
    assert sorted(rows) == sorted(expected_rows)
    assert all(rows[i]["language"] == expected_rows[i]["language"] and rows[i]["sentence_spans"] == expected_rows[i]["sentence_spans"]
               for i in rows)
    assert got.vectors.count() == len(rows)


def test_a_worker_killed_mid_run_is_one_failure_and_the_next_run_stores_each_document_once(tmp_path):
    from undertow.ingest.parallel import EmbeddingWorkerDied

    total = 160
    path = write_jsonl(tmp_path / "notes.jsonl", [doc(i, text=f"Call {i}: we reviewed the rollout plan and the open tickets.") for i in range(total)])
    killed = []
    # Processes other tests left behind (training's joblib pool) are not this run's workers.
    before = {child.pid for child in multiprocessing.active_children()}

    def ours() -> list:
        return [child for child in multiprocessing.active_children() if child.pid not in before]

    def kill_a_worker(_where, read, _total):
        if read == 100 and not killed:  # batches are written, in flight and not yet sent
            worker = ours()[0]
            os.kill(worker.pid, signal.SIGKILL)
            killed.append(worker.pid)

    with pytest.raises(EmbeddingWorkerDied) as died:
        ingest(tmp_path / "home", path, workers=2, on_progress=kill_a_worker)
    message = str(died.value)
    assert killed and "\n" not in message and "run the same `undertow ingest` again" in message
    assert not ours(), "the other worker must not outlive the run"

    from undertow.settings import load_settings
    from undertow.store.home import Home

    home = Home(load_settings(tmp_path / "home"))
    first = home.records.counts()["documents"]
    assert first % BATCH == 0 and first < total, f"{first} stored: batches are stored whole, and not all were"
    assert home.vectors.count() == first
    assert [run["status"] for run in home.records.last_runs()] == ["failed"]

    home, resumed = ingest(tmp_path / "home", path, workers=2)
    ids = [row["id"] for row in home.records.iter_documents()]
    assert (resumed.new, resumed.skipped) == (total - first, first)
    assert sorted(ids) == [f"d-{i:04d}" for i in range(total)]
    assert home.vectors.count() == total


def test_an_ingest_waits_for_its_turn_on_a_shared_postgres_store(tmp_path, home, monkeypatch, postgres_url):
    """Another home's writer holds the shared store's lock: ingest is not refused, it waits for
    its turn, says whom it waits for, and then stores everything."""
    import threading

    from undertow.store.lock import exclusive

    monkeypatch.setenv("UNDERTOW_DATABASE_URL", postgres_url)
    other = tmp_path / "machine-b"
    other.mkdir()
    held, release = threading.Event(), threading.Event()

    def other_home_writes() -> None:
        with exclusive(other, "reclassify", postgres_url):
            held.set()
            release.wait(timeout=60)

    writer = threading.Thread(target=other_home_writes)
    writer.start()
    held.wait(timeout=30)
    notices: list[str] = []

    def release_once_waiting(line: str) -> None:
        notices.append(line)
        release.set()

    try:
        path = write_jsonl(tmp_path / "notes.jsonl", [doc(i) for i in range(3)])
        _, summary = ingest(home, path, workers=1, on_notice=release_once_waiting)
    finally:
        release.set()
        writer.join(timeout=30)
    assert summary.new == 3
    assert any("waiting for the shared record store's writer lock (`undertow reclassify`" in line for line in notices), notices


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="needs CPU affinity")
def test_the_embedding_model_uses_no_more_blas_threads_than_the_cores_it_may_run_on():
    # Two threads pinned to one core spin waiting for each other: ingest ran 9 times slower.
    import subprocess
    import sys

    code = "from undertow.extractor.embedding import MultilingualUSE; print(MultilingualUSE()._model.threads)"
    child = subprocess.Popen([sys.executable, "-c", "import os, sys; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); exec(sys.argv[1])", code],
                             stdout=subprocess.PIPE, text=True)
    assert child.communicate(timeout=120)[0].strip() == "1"
    from undertow.cores import available_cores
    from undertow.extractor.embedding import MultilingualUSE

    assert MultilingualUSE()._model.threads == min(2, available_cores())


def test_while_workers_embed_the_writing_process_keeps_to_one_blas_thread_and_gets_its_own_back():
    from threadpoolctl import threadpool_info, threadpool_limits

    from undertow.extractor.embedding import local_embedder
    from undertow.ingest.parallel import WorkerEmbedding

    def blas_threads() -> set[int]:
        return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}

    with threadpool_limits(limits=2, user_api="blas"):
        pool = WorkerEmbedding(2, local_embedder().name)
        try:
            assert blas_threads() == {1}
        finally:
            pool.close()
        assert blas_threads() == {2}
