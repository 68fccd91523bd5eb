"""The vector index's build settings: cheaper inserts for new stores, and old stores left alone."""

from __future__ import annotations

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings

from undertow.store.vectors import CONSTRUCTION_EF, VectorStore, collection_name


def _row(doc_id: str, account: str) -> dict:
    return {"id": doc_id, "account_id": account, "source": "email", "language": "en", "date": None}


def test_a_new_store_builds_its_index_with_the_cheaper_neighbour_search(tmp_path):
    store = VectorStore("model-a", path=tmp_path / "chroma")
    assert store.collection.metadata["hnsw:construction_ef"] == CONSTRUCTION_EF < 100  # Chroma's default is 100
    vectors = np.random.default_rng(0).normal(size=(40, 16)).astype(np.float32)
    store.upsert([_row(f"d{i}", "acme" if i % 2 else "beta") for i in range(40)], vectors)
    hits = store.search(vectors[3], k=3, account_id="acme")
    assert hits[0][0] == "d3" and all(int(doc_id[1:]) % 2 for doc_id, _ in hits)


def test_a_store_made_before_keeps_its_own_index_settings(tmp_path):
    client = chromadb.PersistentClient(path=str(tmp_path / "chroma"), settings=ChromaSettings(anonymized_telemetry=False))
    client.get_or_create_collection(collection_name("model-a"), metadata={"hnsw:space": "cosine", "embed_model": "model-a"})
    del client
    store = VectorStore("model-a", path=tmp_path / "chroma")
    assert "hnsw:construction_ef" not in store.collection.metadata
    assert store.collection.metadata["hnsw:space"] == "cosine"
