"""UNDERTOW_CHROMA_URL points the vectors at a Chroma server (here `chroma run` on loopback)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from helpers import doc, run_ingest, write_jsonl


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def chroma_server(tmp_path):
    # The venv's scripts folder is not on PATH when tests run as `.venv/bin/python -m pytest`.
    beside_python = Path(sys.executable).parent / "chroma"
    executable = str(beside_python) if beside_python.exists() else shutil.which("chroma")
    assert executable, "the chromadb package installs the `chroma` command"
    port = _free_port()
    process = subprocess.Popen(
        [executable, "run", "--path", str(tmp_path / "server-data"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1)
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("chroma server did not start")
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.mark.slow
def test_ingest_into_a_chroma_server(tmp_path, home, monkeypatch, chroma_server):
    monkeypatch.setenv("UNDERTOW_CHROMA_URL", chroma_server)
    from undertow.settings import load_settings

    path = write_jsonl(tmp_path / "s.jsonl", [doc(i) for i in range(3)])
    store, summary = run_ingest([path], load_settings(home))
    assert summary.new == 3
    assert store.vectors.location == chroma_server
    assert not (home / "chroma").exists(), "nothing should be written to the embedded store"

    import chromadb

    client = chromadb.HttpClient(host="127.0.0.1", port=int(chroma_server.rsplit(":", 1)[1]))
    (collection,) = client.list_collections()
    assert collection.count() == 3
    hits = store.vectors.search(store.embedder.embed(["dashboard filters and export settings"])[0], k=2, account_id="acme")
    assert len(hits) == 2 and all(doc_id.startswith("d-") for doc_id, _ in hits)


def _settings(home: Path, chroma_url: str):
    from undertow.settings import Settings

    return Settings(home=home, chroma_url=chroma_url)


def check_vectors(settings):
    from undertow.store.doctor import diagnose

    return next(check for check in diagnose(settings).checks if check.name.startswith("vector"))


@pytest.mark.slow
def test_two_record_stores_on_one_chroma_server_keep_their_own_vectors(tmp_path, chroma_server):
    """Two teams' databases (here two SQLite stores) sharing a server: the same ids, other words,
    and each one's search still finds its own documents."""
    first, second = _settings(tmp_path / "team-a", chroma_server), _settings(tmp_path / "team-b", chroma_server)
    home_a, _ = run_ingest([write_jsonl(tmp_path / "a.jsonl", [doc(1, text="Can you send the invoice for order 77 again?")])], first)
    home_b, _ = run_ingest([write_jsonl(tmp_path / "b.jsonl", [doc(1, text="The quarterly review went well, the team is happy.")])], second)
    vector = home_a.embedder.embed(["please resend the invoice for order 77"])[0]
    [(doc_id, similarity)] = home_a.vectors.search(vector, k=1, account_id="acme")
    assert doc_id == "d-0001" and similarity > 0.5  # its own words, not the other store's
    assert home_a.vectors.collection.name != home_b.vectors.collection.name
    assert check_vectors(first).status == "ok" and check_vectors(second).status == "ok"


@pytest.mark.slow
def test_a_rebuild_on_a_server_removes_vectors_the_records_do_not_hold(tmp_path, chroma_server):
    from undertow.store.doctor import rebuild_vectors

    settings = _settings(tmp_path / "team", chroma_server)
    home, _ = run_ingest([write_jsonl(tmp_path / "s.jsonl", [doc(i) for i in range(3)])], settings)
    home.vectors.upsert([{"id": "left-by-a-killed-run", "account_id": "acme", "source": "note", "language": "en", "date": None}],
                        np.full((1, 512), 0.01, dtype=np.float32))
    assert check_vectors(settings).status != "ok"
    rebuild_vectors(settings)
    assert check_vectors(settings).status == "ok" and home.vectors.ids() == {"d-0000", "d-0001", "d-0002"}


@pytest.mark.slow
def test_the_shared_collection_of_an_older_release_is_taken_over_not_emptied(tmp_path, chroma_server):
    import chromadb

    from undertow.store.vectors import collection_name

    settings = _settings(tmp_path / "team", chroma_server)
    home, _ = run_ingest([write_jsonl(tmp_path / "s.jsonl", [doc(i) for i in range(3)])], settings)
    client = chromadb.HttpClient(host="127.0.0.1", port=int(chroma_server.rsplit(":", 1)[1]))
    client.get_collection(home.vectors.collection.name).modify(name=collection_name(home.embedder.name))  # as that release named it
    from undertow.store.home import Home

    reopened = Home(settings).vectors
    assert reopened.collection.name == collection_name(home.embedder.name, settings.sqlite_url) and reopened.count() == 3


def _dead_port_url() -> str:
    return f"http://127.0.0.1:{_free_port()}"


def test_a_chroma_server_that_does_not_answer_is_one_line_naming_the_setting(tmp_path, home, monkeypatch):
    from typer.testing import CliRunner

    from undertow.cli.app import app

    monkeypatch.setenv("UNDERTOW_CHROMA_URL", _dead_port_url())
    path = write_jsonl(tmp_path / "s.jsonl", [doc(1)])
    result = CliRunner().invoke(app, ["ingest", str(path), "--json"])
    assert result.exit_code == 2, result.output
    assert "cannot be reached" in json.loads(result.stdout)["error"] and "UNDERTOW_CHROMA_URL" in result.stderr
    checked = CliRunner().invoke(app, ["doctor", "--json"])
    assert "check UNDERTOW_CHROMA_URL" in checked.stdout and "rebuild-vectors" not in checked.stdout.split("vector store")[-1]


def test_a_database_that_does_not_answer_is_one_line_naming_the_setting(home, monkeypatch):
    from typer.testing import CliRunner

    from undertow.cli.app import app

    monkeypatch.setenv("UNDERTOW_DATABASE_URL", f"postgresql://team:secret@127.0.0.1:{_free_port()}/undertow")
    result = CliRunner().invoke(app, ["status", "--json"])
    assert result.exit_code == 2, result.output
    error = json.loads(result.stdout)["error"]
    assert "cannot be reached" in error and "UNDERTOW_DATABASE_URL" in error and "secret" not in error
