"""Document vectors in Chroma: embedded on disk by default, a Chroma server when configured."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from urllib.parse import urlparse

import numpy as np


# How Chroma builds its nearest-neighbour graph for a new collection. Every search Undertow makes
# is within one account, and those are exact (`VectorStore.search`), so the graph is never read
# and is built cheaply: 8 candidates and 4 links a vector. With Chroma's defaults (100 and 16)
# its insert became the largest part of what ingest does per document as a store grew: 1.2 ms of
# CPU a vector at 150,000 documents even with 50 candidates (README, Sizing). A store made
# before keeps its own settings.
INDEX_BUILD = {"hnsw:construction_ef": 8, "hnsw:M": 4}
# Vectors read at a time in an exact search: a whole account's, unless it is very large.
SEARCH_PAGE = 2000


def collection_name(embed_model: str, records_url: str | None = None) -> str:
    """One collection per embedding model, so a change of model never mixes vector spaces; on a
    Chroma server, one per record store too (`records_url`), since two teams' databases may share
    a server and each must find only its own documents' vectors."""
    slug = re.sub(r"[^a-zA-Z0-9_-]+", "-", embed_model).strip("-_")
    if records_url is None:
        return f"documents_{slug}"[:63]
    return f"documents_{slug}"[:52] + "_" + store_key(records_url)


def store_key(records_url: str) -> str:
    """Ten hex digits naming a record store by where it is (host, port, database or file), not by
    who logs in: every home sharing a database shares its vectors."""
    from sqlalchemy.engine import make_url

    url = make_url(records_url)
    where = f"{url.get_backend_name()}://{url.host or ''}:{url.port or ''}/{url.database or ''}"
    return hashlib.sha1(where.encode("utf-8")).hexdigest()[:10]


def cosine_similarities(vectors: np.ndarray, query: np.ndarray) -> np.ndarray:
    """The cosine of each row of `vectors` with `query` (a zero vector scores 0)."""
    vectors, query = np.asarray(vectors, dtype=np.float32), np.asarray(query, dtype=np.float32)
    return vectors @ query / np.maximum(np.linalg.norm(vectors, axis=1) * np.linalg.norm(query), 1e-12)


def day_number(value: dt.datetime | None) -> int:
    """Dates as yyyymmdd integers: Chroma filters compare numbers, not strings."""
    return int(value.strftime("%Y%m%d")) if value else 0


def _open_embedded(path: Path, chroma_settings):
    """An embedded Chroma store; a damaged one is a one-line error that names the repair."""
    import chromadb
    from chromadb.errors import ChromaError

    from undertow.errors import CorruptFileError

    try:
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except ChromaError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CorruptFileError(
            f"the vector index {path} cannot be read ({reason}): run `undertow doctor --rebuild-vectors`; "
            "the records are safe and nothing is re-embedded"
        ) from None


log = logging.getLogger(__name__)


class VectorStore:
    def __init__(self, embed_model: str, path: Path | None = None, url: str | None = None, records_url: str | None = None):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        if url:
            parsed = urlparse(url)
            self.location = url
            with _reaching(url):
                self.client = chromadb.HttpClient(
                    host=parsed.hostname or "127.0.0.1",
                    port=parsed.port or 8000,
                    ssl=parsed.scheme == "https",
                    settings=chroma_settings,
                )
        else:
            assert path is not None, "an embedded store needs a folder"
            self.location = str(path)
            self.client = _open_embedded(path, chroma_settings)
        self.embed_model = embed_model
        self.url = url
        name = collection_name(embed_model, records_url if url else None)
        with self._reaching():
            if url and records_url:
                _adopt_shared_collection(self.client, collection_name(embed_model), name)
            self.collection = self.client.get_or_create_collection(
                name, metadata={"hnsw:space": "cosine", **INDEX_BUILD, "embed_model": embed_model}
            )

    def _reaching(self):
        return _reaching(self.url) if self.url else nullcontext()

    def ids(self) -> set[str]:
        """Every id in the collection, read in pages (a server refuses one request for all)."""
        found: set[str] = set()
        with self._reaching():
            for offset in range(0, self.count(), 5000):
                found.update(self.collection.get(include=[], limit=5000, offset=offset)["ids"])
        return found

    def upsert(self, rows: list[dict], vectors: np.ndarray) -> None:
        if not rows:
            return
        metadatas = [
            {
                "account_id": row["account_id"],
                "source": row["source"],
                "language": row["language"] or "",
                "date": day_number(row["date"]),
                "embed_model": self.embed_model,
            }
            for row in rows
        ]
        with self._reaching():
            # No document text: the record store keeps it, and Chroma's full-text index of it
            # cost as much as the vector insert itself.
            self.collection.upsert(ids=[row["id"] for row in rows], embeddings=np.asarray(vectors, dtype=np.float32), metadatas=metadatas)

    def delete(self, ids: list[str]) -> None:
        ids = list(ids)
        with self._reaching():
            for start in range(0, len(ids), 1000):  # a server takes a bounded batch
                self.collection.delete(ids=ids[start : start + 1000])

    def search(
        self, vector: np.ndarray, k: int = 5, account_id: str | None = None, since: dt.datetime | None = None
    ) -> list[tuple[str, float]]:
        """(document id, cosine similarity) of the nearest documents, best first.

        Within an account the search is exact: every vector of the account is read and scored. An
        account holds tens to thousands of documents, which is quicker to score than Chroma's
        filtered graph search (20 against 130 ms for an account of 48 in a store of 150,000), and
        the graph missed about 1 in 75 of the nearest five at 100,000 documents."""
        conditions = []
        if account_id is not None:
            conditions.append({"account_id": account_id})
        if since is not None:
            conditions.append({"date": {"$gte": day_number(since)}})
        where = conditions[0] if len(conditions) == 1 else ({"$and": conditions} if conditions else None)
        if account_id is not None:
            return self._exact(np.asarray(vector, dtype=np.float32), k, where)
        with self._reaching():
            result = self.collection.query(
                query_embeddings=np.asarray([vector], dtype=np.float32), n_results=k, where=where, include=["distances"]
            )
        return [(doc_id, 1.0 - float(distance)) for doc_id, distance in zip(result["ids"][0], result["distances"][0])]

    def _exact(self, vector: np.ndarray, k: int, where: dict) -> list[tuple[str, float]]:
        scored: list[tuple[float, str]] = []
        with self._reaching():
            for offset in itertools.count(0, SEARCH_PAGE):
                page = self.collection.get(where=where, include=["embeddings"], limit=SEARCH_PAGE, offset=offset)
                if not page["ids"]:
                    break
                similarity = cosine_similarities(page["embeddings"], vector)
                scored = sorted(scored + list(zip(similarity.tolist(), page["ids"])), key=lambda hit: (-hit[0], hit[1]))[:k]
                if len(page["ids"]) < SEARCH_PAGE:
                    break
        return [(doc_id, similarity) for similarity, doc_id in scored]

    def count(self) -> int:
        with self._reaching():
            return self.collection.count()


@contextmanager
def _reaching(url: str) -> Iterator[None]:
    """A Chroma server that is down, or goes down mid-run, is one line naming the setting."""
    import httpx

    try:
        yield
    except (httpx.TransportError, ConnectionError) as error:
        raise _unreachable(url, error) from None
    except ValueError as error:
        if "connect" not in str(error).lower():  # the client's own "Could not connect to a Chroma server"
            raise
        raise _unreachable(url, error) from None


def _unreachable(url: str, error: BaseException):
    from undertow.errors import StoreUnreachable
    from undertow.masking import mask_url

    reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return StoreUnreachable(f"the Chroma server {mask_url(url)} cannot be reached ({reason}): check UNDERTOW_CHROMA_URL "
                            "(or chroma_url in config.toml) and that the server is running (`chroma run`)")


def _adopt_shared_collection(client, legacy: str, name: str) -> None:
    """Releases before this one kept one collection per model on a server, whatever the record
    store: the first store to open it since takes it over under its own name (with every vector,
    so nothing is embedded again; `doctor` names any that are another store's)."""
    present = {collection.name for collection in client.list_collections()}
    if legacy in present and name not in present:
        client.get_collection(legacy).modify(name=name)
        log.warning("the Chroma collection %s is now %s, this record store's own", legacy, name)
