"""`ask` asks the LLM only when told to, and redacts what it sends; documents that fell back
during an outage get the LLM's verdict on a later run."""

from __future__ import annotations

import json

from ask_llm_server import AskLLMServer
from openai_server import OpenAIServer
from test_ask import ACME, run_cli, seeded  # noqa: F401 - the fixture
from typer.testing import CliRunner
from undertow.cli.app import app

OUTAGE = "The board announced layoffs across the region, so we will have to drop to 40 seats in May."
QUIET = "Thanks for the session on dashboards, the team found the filters useful."


def _point_at(monkeypatch, url: str, **extra: str) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    monkeypatch.setenv("UNDERTOW_LLM_MAX_RETRIES", "0")
    for name, value in extra.items():
        monkeypatch.setenv(f"UNDERTOW_LLM_{name.upper()}", value)


def test_ask_does_not_call_a_configured_llm_unless_asked(seeded, monkeypatch):  # noqa: F811
    with AskLLMServer() as server:
        _point_at(monkeypatch, server.url)
        quiet = run_cli(ACME, "--as-of", "2026-10-01", "--json")
        assert quiet.exit_code == 0 and json.loads(quiet.stdout)["narrative"] is None and server.requests == []
        asked = run_cli(ACME, "--as-of", "2026-10-01", "--json", "--llm")
        assert asked.exit_code == 0 and json.loads(asked.stdout)["narrative"] is not None and len(server.requests) == 1


def test_ask_redacts_names_and_maps_quotes_back(seeded, monkeypatch):  # noqa: F811
    with AskLLMServer() as server:
        _point_at(monkeypatch, server.url, redact="true")
        result = run_cli(ACME, "--as-of", "2026-10-01", "--json", "--llm")
        sent = json.dumps(server.requests[0]["body"]["messages"])
    assert result.exit_code == 0, result.stderr
    assert "Dana" not in sent and "[PERSON_1]" in sent
    narrative = json.loads(result.stdout)["narrative"]
    quotes = [c["quote"] for claim in narrative["claims"] for c in claim["citations"] if c["quote"]]
    assert quotes and all("[PERSON_" not in q for q in quotes)
    assert narrative["claims"][0]["verified"]  # the restored quote was found in the stored text


def test_documents_that_fell_back_are_healed_by_reclassify_fallbacks(tmp_path, monkeypatch):
    path = tmp_path / "n.jsonl"
    path.write_text("".join(json.dumps({"id": f"d{i}", "account_id": "acme", "text": t}) + "\n" for i, t in enumerate([OUTAGE, QUIET])))
    with OpenAIServer() as server:
        _point_at(monkeypatch, server.url)
        server.script("layoffs across the region", "server_error")
        first = CliRunner().invoke(app, ["ingest", str(path), "--backend", "llm", "--json"])
        assert first.exit_code == 0, first.output
        assert json.loads(first.stdout)["classifier_stats"]["fallbacks"] == 1
        server.reset()
        healed = CliRunner().invoke(app, ["reclassify", "--fallbacks", "--json"])
        assert healed.exit_code == 0, healed.output
        assert json.loads(healed.stdout)["healed"] == 1 and len(server.requests) == 1
        again = CliRunner().invoke(app, ["reclassify", "--fallbacks", "--json"])
        assert json.loads(again.stdout)["pending"] == 0 and len(server.requests) == 1
    status = json.loads(CliRunner().invoke(app, ["status", "--json"]).stdout)
    assert status["flags"] >= 1


def test_the_next_llm_ingest_heals_earlier_fallbacks(tmp_path, monkeypatch):
    first_file, second_file = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first_file.write_text(json.dumps({"id": "d1", "account_id": "acme", "text": OUTAGE}) + "\n")
    second_file.write_text(json.dumps({"id": "d2", "account_id": "acme", "text": QUIET}) + "\n")
    with OpenAIServer() as server:
        _point_at(monkeypatch, server.url)
        server.script("layoffs across the region", "server_error")
        assert CliRunner().invoke(app, ["ingest", str(first_file), "--backend", "llm"]).exit_code == 0
        result = CliRunner().invoke(app, ["ingest", str(second_file), "--backend", "llm"])
        assert result.exit_code == 0, result.output
        assert "fell back in earlier runs: 1 answered" in result.stderr
        assert len(server.requests_for("layoffs across the region")) == 2
