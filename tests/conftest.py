"""Shared fixtures: every test gets its own home folder; the embedding model loads once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh UNDERTOW_HOME per test, and no LLM endpoint unless a test sets one."""
    folder = tmp_path / "home"
    monkeypatch.setenv("UNDERTOW_HOME", str(folder))
    monkeypatch.setenv("UNDERTOW_DEMO_HOME", str(folder))
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "UNDERTOW_CHROMA_URL", "UNDERTOW_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return folder


@pytest.fixture(scope="session")
def embedder():
    from undertow.extractor.embedding import local_embedder

    return local_embedder()


@pytest.fixture()
def local(embedder):
    """The bundled local classifier: the LLM backends' fallback and the hybrid's screen."""
    from undertow.extractor.local_backend import LocalClassifier

    return LocalClassifier(embedder=embedder)


@pytest.fixture()
def settings(home: Path):
    from undertow.settings import load_settings

    return load_settings(home)


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server's superuser URL (tests/pg_fixture.py); the test skips when there is none."""
    from pg_fixture import server

    with server() as url:
        yield url


@pytest.fixture()
def postgres_url(postgres_server):
    """A new, empty PostgreSQL database for one test, dropped after it."""
    from undertow.store.pg_admin import fresh_database

    with fresh_database(postgres_server, prefix="undertow_test") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def record_url(request, tmp_path):
    """A record store's URL, once as a SQLite file and once as a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'records.db'}"
    return request.getfixturevalue("postgres_url")
