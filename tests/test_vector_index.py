"""The vector index: searches within an account are exact, the graph Chroma builds is cheap, and
old stores keep their settings."""

from __future__ import annotations

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings

import datetime as dt

from undertow.store import vectors as vector_module
from undertow.store.vectors import INDEX_BUILD, VectorStore, collection_name


def _row(doc_id: str, account: str, date: dt.datetime | None = None) -> dict:
    return {"id": doc_id, "account_id": account, "source": "email", "language": "en", "date": date}


def test_a_new_store_builds_its_index_with_the_cheaper_neighbour_search(tmp_path):
    store = VectorStore("model-a", path=tmp_path / "chroma")
    assert store.collection.metadata["hnsw:construction_ef"] == INDEX_BUILD["hnsw:construction_ef"] < 100  # Chroma's default is 100
    assert store.collection.metadata["hnsw:M"] == INDEX_BUILD["hnsw:M"] < 16  # and 16 links
    vectors = np.random.default_rng(0).normal(size=(40, 16)).astype(np.float32)
    store.upsert([_row(f"d{i}", "acme" if i % 2 else "beta") for i in range(40)], vectors)
    hits = store.search(vectors[3], k=3, account_id="acme")
    assert hits[0][0] == "d3" and all(int(doc_id[1:]) % 2 for doc_id, _ in hits)


def test_a_search_within_an_account_finds_exactly_the_nearest_documents(tmp_path, monkeypatch):
    monkeypatch.setattr(vector_module, "SEARCH_PAGE", 50)  # several pages per account
    rng = np.random.default_rng(4)
    vectors = rng.normal(size=(900, 24)).astype(np.float32)
    accounts = ["acme" if i % 3 else "beta" for i in range(900)]
    dates = [dt.datetime(2026, 1, 1) + dt.timedelta(days=i % 300) for i in range(900)]
    store = VectorStore("model-a", path=tmp_path / "chroma")
    for start in range(0, 900, 100):
        store.upsert([_row(f"d{i:03d}", accounts[i], dates[i]) for i in range(start, start + 100)], vectors[start : start + 100])
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    since = dt.datetime(2026, 6, 1)
    for query in rng.normal(size=(30, 24)).astype(np.float32):
        similarity = unit @ (query / np.linalg.norm(query))
        for account, after in (("acme", None), ("beta", None), ("acme", since)):
            chosen = [i for i in range(900) if accounts[i] == account and (after is None or dates[i] >= after)]
            expected = sorted(chosen, key=lambda i: -similarity[i])[:5]
            hits = store.search(query, k=5, account_id=account, since=after)
            assert [doc_id for doc_id, _ in hits] == [f"d{i:03d}" for i in expected]
            np.testing.assert_allclose([s for _, s in hits], similarity[expected], atol=1e-5)


def test_a_store_made_before_keeps_its_own_index_settings(tmp_path):
    client = chromadb.PersistentClient(path=str(tmp_path / "chroma"), settings=ChromaSettings(anonymized_telemetry=False))
    client.get_or_create_collection(collection_name("model-a"), metadata={"hnsw:space": "cosine", "embed_model": "model-a"})
    del client
    store = VectorStore("model-a", path=tmp_path / "chroma")
    assert "hnsw:construction_ef" not in store.collection.metadata
    assert store.collection.metadata["hnsw:space"] == "cosine"
