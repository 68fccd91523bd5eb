"""The default path runs offline: no key, no base URL, and nothing dials a remote address."""

from __future__ import annotations

import socket

import pytest
from typer.testing import CliRunner

from helpers import doc, write_jsonl
from undertow.cli.app import app
from undertow.extractor.chat import ChatUnreachable, _structured_runnable
from undertow.settings import LLMSettings


@pytest.fixture()
def no_remote_connections(monkeypatch):
    """Any connection to an address not on this machine fails the test."""
    real_connect = socket.socket.connect
    dialled = []

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else str(address)
        if not (str(host).startswith("127.") or host in ("localhost", "::1")):
            dialled.append(host)
            raise OSError(f"test: no network ({host})")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    return dialled


def test_classify_ingest_and_ask_on_the_default_path_dial_nothing(tmp_path, no_remote_connections):
    path = write_jsonl(tmp_path / "a.jsonl", [doc(1, "Our sponsor Dana told us she is leaving the company at the end of the month.")])
    runner = CliRunner()
    assert runner.invoke(app, ["classify", str(path)]).exit_code == 0
    assert runner.invoke(app, ["ingest", str(path)]).exit_code == 0
    assert runner.invoke(app, ["ask", "acme", "who is our champion?"]).exit_code == 0
    assert no_remote_connections == []


def test_no_llm_client_is_built_without_a_configured_endpoint():
    with pytest.raises(ChatUnreachable):
        _structured_runnable(LLMSettings(), {"name": "answer", "parameters": {}}, "json_schema")
