"""A nightly run through the hybrid backend records the LLM's usage with the run."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from helpers import doc, write_jsonl
from openai_server import OpenAIServer
from undertow.cli.app import app

CHAMPION = "Our sponsor Dana told us she is leaving the company at the end of the month and nobody replaces her yet."
# Notes the local model is unsure about, so the hybrid screen sends at least one to the LLM.
UNSURE = [
    "Call moved twice. Tom said the new COO is looking at all tools but he thinks we are fine. Reports still run every Monday.",
    "Heard from a partner that they are talking to other vendors, not confirmed. Our champion has been quiet since March.",
]


def test_hybrid_ingest_records_tokens_and_cost_per_run(tmp_path, home, monkeypatch):
    path = write_jsonl(tmp_path / "n.jsonl", [doc(1, text=CHAMPION), doc(2), *(doc(3 + i, text=t) for i, t in enumerate(UNSURE))])
    with OpenAIServer() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        # A local server's model has no list price: the home says what it costs.
        monkeypatch.setenv("UNDERTOW_LLM_INPUT_COST_PER_MTOK", "0.15")
        monkeypatch.setenv("UNDERTOW_LLM_OUTPUT_COST_PER_MTOK", "0.60")
        result = CliRunner().invoke(app, ["ingest", str(path), "--backend", "hybrid", "--json"])
        assert result.exit_code == 0, result.stderr
        summary = json.loads(result.stdout)
        assert summary["new"] == 4
        stats = summary["classifier_stats"]
        assert stats["screened"] == 4 and 1 <= stats["sent"] == len(server.requests)
        assert stats["prompt_tokens"] > 0 and stats["cost_usd"] > 0
        assert "tokens" in result.stderr
    status = json.loads(CliRunner().invoke(app, ["status", "--json"]).stdout)
    assert status["flags"] >= 1
    import sqlite3

    with sqlite3.connect(home / "undertow.db") as conn:
        (detail,) = conn.execute("select detail from runs").fetchone()
    assert json.loads(detail)["classifier"]["sent"] == stats["sent"]
