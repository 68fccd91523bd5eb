"""LLM answers kept by (content hash, model, prompt version): a re-run pays nothing for documents
it has already seen.

The raw answer is stored, not the final flags, so a better grounding step applies to old answers
too. Only real answers are stored; a timeout or an invalid answer is asked again next run, and
the ids of documents that fell back are kept (`llm_pending`) so a later run can heal them.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS llm_answers (
    content_hash TEXT NOT NULL,
    model TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    answer TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    PRIMARY KEY (content_hash, model, prompt_version)
);
CREATE TABLE IF NOT EXISTS llm_pending (
    doc_id TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    created_at REAL NOT NULL
)
"""


@dataclass(frozen=True)
class CachedAnswer:
    answer: dict
    prompt_tokens: int
    completion_tokens: int


class AnswerCache:
    """A small SQLite file of its own, so the record store's schema and lock are left alone."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # Worker threads never touch it; the lock only guards against a caller that does.
        self._conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock, self._conn:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.executescript(SCHEMA)

    def get_many(self, content_hashes: list[str], model: str, prompt_version: str) -> dict[str, CachedAnswer]:
        found: dict[str, CachedAnswer] = {}
        unique = sorted(set(content_hashes))
        # SQLite limits bound parameters per statement; 500 keeps well under every build's limit.
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            marks = ",".join("?" * len(chunk))
            with self._lock:
                rows = self._conn.execute(
                    f"SELECT content_hash, answer, prompt_tokens, completion_tokens FROM llm_answers "
                    f"WHERE model = ? AND prompt_version = ? AND content_hash IN ({marks})",
                    [model, prompt_version, *chunk],
                ).fetchall()
            for content_hash, answer, prompt_tokens, completion_tokens in rows:
                try:
                    parsed = json.loads(answer)
                except ValueError:
                    continue  # an unreadable row is a miss: asked again, then replaced
                if isinstance(parsed, dict):
                    found[content_hash] = CachedAnswer(parsed, prompt_tokens, completion_tokens)
        return found

    def put(self, content_hash: str, model: str, prompt_version: str, answer: dict, prompt_tokens: int, completion_tokens: int) -> None:
        """Raises ValueError for an answer that is not plain JSON (NaN, infinity): never stored."""
        text = json.dumps(answer, ensure_ascii=False, allow_nan=False)
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT OR REPLACE INTO llm_answers VALUES (?, ?, ?, ?, ?, ?, ?)",
                (content_hash, model, prompt_version, text, prompt_tokens, completion_tokens, time.time()),
            )

    def mark_pending(self, docs, model: str, prompt_version: str) -> None:
        """Documents that fell back (timeout, outage, ceiling): the next LLM run asks them again."""
        if not docs:
            return
        with self._lock, self._conn:
            self._conn.executemany(
                "INSERT OR REPLACE INTO llm_pending VALUES (?, ?, ?)", [(d.id, d.content_hash, time.time()) for d in docs]
            )

    def pending(self) -> dict[str, str]:
        """{doc_id: content_hash} of the documents still waiting for an LLM answer."""
        with self._lock:
            return dict(self._conn.execute("SELECT doc_id, content_hash FROM llm_pending").fetchall())

    def clear_pending(self, doc_ids: list[str]) -> None:
        with self._lock, self._conn:
            self._conn.executemany("DELETE FROM llm_pending WHERE doc_id = ?", [(d,) for d in doc_ids])

    def count(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM llm_answers").fetchone()[0]

    def close(self) -> None:
        self._conn.close()
