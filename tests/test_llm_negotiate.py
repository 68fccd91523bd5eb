"""The LLM path against servers people run: structured output negotiated and remembered, bad
bodies and silent usage survived, personal data redacted before it leaves, runs bounded in time
and money. All through a real HTTP server on 127.0.0.1 and the real openai/langchain clients."""

from __future__ import annotations

import json
import time

from openai_server import OpenAIServer, scripted_llm
from typer.testing import CliRunner
from undertow.cli.app import app
from undertow.extractor.llm import AUDIT_FILE, FORMATS_FILE, LLMClassifier

from undertow.documents import Document
from undertow.settings import LLMSettings

BUDGET = "The board announced layoffs across the region, so we will have to drop to 40 seats in May."
RISKY = "Our new CFO wants to sign off on every contract. They are also piloting a cheaper tool from another vendor."
QUIET = "Thanks for the session on dashboards, the team found the filters useful. See you at the workshop."
PRICES = {"scripted-model": {"input": 1.0, "output": 4.0}}

# Personal data planted in the documents; none of it may reach the server.
PLANTED = [
    "Dana Whitfield", "dana.whitfield@acme-corp.com", "+44 20 7946 0958", "DE89 3704 0044 0532 0130 00",
    "4111 1111 1111 1111", "Hunter2024!", "sk-live4f9a8b7c6d5e4f3a2b1c", "Maria Gonzalez", "123-45-6789",
    "https://portal.example.com/share?token=9f8e7d6c5b4a", "Jordan Blake", "+1 415 555 0132",
]
PRIVATE = (
    "Hi Jordan Blake, our sponsor Dana Whitfield is leaving the company at the end of the month. "
    "Reach her at dana.whitfield@acme-corp.com or +44 20 7946 0958 until then. "
    "Please refund to DE89 3704 0044 0532 0130 00, not the card 4111 1111 1111 1111. "
    "The admin password is Hunter2024! and the api key sk-live4f9a8b7c6d5e4f3a2b1c. "
    "Her SSN 123-45-6789 is on file, see https://portal.example.com/share?token=9f8e7d6c5b4a for the export. "
    "Call +1 415 555 0132 for the finance team.\n\nBest regards,\nMaria Gonzalez"
)


def doc(doc_id: str, text: str, **extra) -> Document:
    return Document(id=doc_id, account_id="acme", source="email", date="2026-03-02", text=text, **extra)


def make(server: OpenAIServer, home, local=None, **changes) -> LLMClassifier:
    return scripted_llm(server, home, PRICES, local, **changes)


def _format(request: dict) -> str:
    body = request["body"]
    return "tools" if body.get("tools") else body.get("response_format", {}).get("type", "text")


# --- structured output that negotiates --------------------------------------------------------------
def test_a_server_that_rejects_json_schema_gets_function_calling_and_it_is_remembered(home):
    with OpenAIServer(rejects=("json_schema",)) as server:
        [result] = make(server, home).classify([doc("b", BUDGET)])
        assert result.backend == "llm" and result.labels == ["budget_pressure"]
        # The client retries the 500 once (max_retries=1) before the format is given up.
        assert [_format(r) for r in server.requests] == ["json_schema", "json_schema", "tools"]
        remembered = json.loads((home / FORMATS_FILE).read_text())
        assert list(remembered.values()) == ["function_calling"]
        server.reset()
        [again] = make(server, home).classify([doc("r", RISKY)])
        assert again.backend == "llm" and [_format(r) for r in server.requests] == ["tools"]  # starts where it ended


def test_a_server_with_json_mode_only_gets_the_schema_in_the_prompt(home):
    with OpenAIServer(rejects=("json_schema", "tools")) as server:
        results = make(server, home, max_concurrency=1).classify([doc("b", BUDGET), doc("r", RISKY), doc("q", QUIET)])
        assert [r.backend for r in results] == ["llm"] * 3
        assert results[0].labels == ["budget_pressure"] and sorted(results[1].labels) == ["champion_departure", "competitor_mention"]
        assert [_format(r) for r in server.requests] == ["json_schema", "json_schema", "tools", "json_object", "json_object", "json_object"]
        assert "JSON schema" in server.requests[-1]["body"]["messages"][0]["content"]
        assert list(json.loads((home / FORMATS_FILE).read_text()).values()) == ["json_mode"]


# --- bad bodies and silent servers ----------------------------------------------------------------
def test_a_proxy_html_page_is_one_failed_document_not_a_failed_run(home, local):
    with OpenAIServer() as server:
        server.script("layoffs across the region", "html", "html", "html", "html")
        classifier = make(server, home, local=local, max_concurrency=1)
        results = classifier.classify([doc("b", BUDGET), doc("r", RISKY)])
        assert [(r.backend, r.note) for r in results] == [("local-fallback", "llm bad response body"), ("llm", "")]


def test_a_server_without_usage_is_never_free(home):
    with OpenAIServer() as server:
        server.script("layoffs across the region", "no_usage")
        classifier = make(server, home)
        classifier.classify([doc("b", BUDGET)])
        stats = classifier.stats
        assert stats["estimated_usage"] == 1 and stats["prompt_tokens"] > 100 and stats["completion_tokens"] > 10
        assert stats["cost_usd"] > 0 and "estimated" in classifier.summary()


def test_ingest_json_with_a_fallen_back_document_prints_its_summary(tmp_path, monkeypatch):
    path = tmp_path / "n.jsonl"
    path.write_text("\n".join(json.dumps({"id": f"d{i}", "account_id": "acme", "text": t}) for i, t in enumerate([BUDGET, QUIET])) + "\n")
    with OpenAIServer() as server:
        server.script("layoffs across the region", *["server_error"] * 4)
        for name, value in {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "k", "UNDERTOW_LLM_MAX_RETRIES": "1"}.items():
            monkeypatch.setenv(name, value)
        result = CliRunner().invoke(app, ["ingest", str(path), "--backend", "llm", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["new"] == 2 and summary["classifier_stats"]["fallback_reasons"] == {"llm error 500": 1}


# --- privacy ----------------------------------------------------------------------------------------
def test_no_planted_personal_data_reaches_the_server_and_evidence_comes_back_verbatim(home):
    document = doc("p", PRIVATE, author="Jordan Blake")
    with OpenAIServer() as server:
        classifier = make(server, home, redact=True)
        [result] = classifier.classify([document])
        sent = json.dumps([r["body"] for r in server.requests], ensure_ascii=False)
    leaked = [item for item in PLANTED if item in sent or item.replace(" ", "") in sent]
    assert leaked == []
    assert "[PERSON_" in sent and "[EMAIL_1]" in sent and "[IBAN_1]" in sent and "[CARD_1]" in sent
    # The model quoted "[PERSON_2] is leaving...": the flag's evidence is the text as written.
    assert result.backend == "llm" and "champion_departure" in result.labels
    for flag in result.flags:
        for evidence in flag.evidence:
            assert PRIVATE[evidence.start : evidence.end] == evidence.quote
    assert any("Dana Whitfield" in e.quote for f in result.flags for e in f.evidence)
    audit = [json.loads(line) for line in (home / AUDIT_FILE).read_text().splitlines()]
    assert len(audit) == 1 and audit[0]["prompt_tokens"] > 0 and audit[0]["cost_usd"] > 0 and len(audit[0]["sha256"]) == 64
    assert not [item for item in PLANTED if item in json.dumps(audit, ensure_ascii=False)]
    assert (home / AUDIT_FILE).stat().st_mode & 0o077 == 0


def test_redaction_is_on_for_remote_endpoints_and_off_for_loopback_unless_asked():
    assert LLMSettings(base_url="https://llm.example.com/v1").redacts
    assert LLMSettings(api_key="k").redacts  # OpenAI
    assert not LLMSettings(base_url="http://127.0.0.1:8080/v1").redacts
    assert not LLMSettings(base_url="https://llm.example.com/v1", redact=False).redacts


def test_a_long_document_is_cut_on_sentence_ends_keeping_the_signal(home):
    filler = " ".join(f"Item {i} of the agenda went as planned." for i in range(200))
    with OpenAIServer() as server:
        [result] = make(server, home, max_request_chars=600).classify([doc("long", filler + " " + BUDGET + " " + filler)])
        text = server.requests[0]["document"]
    assert len(text) <= 600 and BUDGET in text and "[...]" in text
    assert result.labels == ["budget_pressure"]


# --- bounded runs -----------------------------------------------------------------------------------
def test_a_hostile_server_run_ends_by_its_deadline_within_its_ceiling_losing_nothing(home, local):
    """500 to json_schema, HTML bodies, no usage, stalls: the run still ends in time and in budget."""
    docs = [doc(f"d{i}", f"{text} Ticket {i}.") for i, text in enumerate([BUDGET, RISKY, QUIET] * 10)]
    with OpenAIServer(rejects=("json_schema",), stall_s=20) as server:
        server.script_tickets(range(0, 30, 7), "html", "html")
        server.script_tickets(range(2, 30, 5), "no_usage")
        server.script_tickets(range(20, 30), "stall", "stall")
        classifier = make(server, home, local=local, redact=True, run_deadline_s=6, max_cost_usd=0.08, timeout_s=3, max_concurrency=4)
        started = time.monotonic()
        results = classifier.classify(docs)
        elapsed = time.monotonic() - started
    assert elapsed < 8, elapsed
    assert [r.doc_id for r in results] == [d.id for d in docs]  # nothing lost
    stats = classifier.stats
    assert stats["cost_usd"] <= 0.08
    assert stats["fallbacks"] >= 10 and stats["stopped"]
    assert "stopped sending" in classifier.summary()
    assert sum(r.backend == "llm" for r in results) >= 10


def test_the_breaker_stops_sending_after_consecutive_failures(home, local):
    docs = [doc(f"d{i}", f"{BUDGET} Ticket {i}.") for i in range(12)]
    with OpenAIServer() as server:
        server.script_tickets(range(12), "server_error", "server_error")
        classifier = make(server, home, local=local, max_retries=0, max_concurrency=1, breaker_failures=3)
        results = classifier.classify(docs)
        assert len(server.requests) == 3
    assert len(results) == 12 and {r.backend for r in results} == {"local-fallback"}
    assert classifier.stats["stopped"] == "llm circuit open after 3 failures in a row"
    assert classifier.stats["fallback_reasons"]["llm circuit open after 3 failures in a row"] == 9


def test_a_ceiling_counts_requests_in_flight(home, local):
    docs = [doc(f"d{i}", f"{BUDGET} Ticket {i}.") for i in range(20)]
    with OpenAIServer() as server:
        one = make(server, home / "probe", max_concurrency=1)
        one.classify(docs[:1])
        per_request = one.stats["cost_usd"]
        classifier = make(server, home, local=local, max_concurrency=8, max_cost_usd=per_request * 4.5)
        classifier.classify(docs[1:])
    assert classifier.stats["cost_usd"] <= per_request * 4.5
    assert 1 <= classifier.stats["sent"] <= 4
