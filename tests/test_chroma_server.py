"""UNDERTOW_CHROMA_URL points the vectors at a Chroma server (here `chroma run` on loopback)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

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
