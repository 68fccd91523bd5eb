"""Answers the schema allows but a classification cannot use (NaN or out-of-range confidences),
answers cut short or unreadable that were still paid for, and a run deadline that bounds the
process, not only the summary. Through a real HTTP server on 127.0.0.1 (openai_server.py) and the
real openai/langchain clients."""

from __future__ import annotations

import json
import math
import threading
import time

import pytest
from openai_server import OpenAIServer, scripted_llm

from undertow.documents import Document
from undertow.extractor import llm as llm_module
from undertow.extractor.llm import LLMClassifier
from undertow.extractor.llm_cache import AnswerCache

BUDGET = "The board announced layoffs across the region, so we will have to drop to 40 seats in May."
RISKY = "Our new CFO wants to sign off on every contract. They are also piloting a cheaper tool from another vendor."
QUIET = "Thanks for the session on dashboards, the team found the filters useful. See you at the workshop."
PRICES = {"scripted-model": {"input": 10.0, "output": 10.0}}


class FaultyServer(OpenAIServer):
    """The scripted server plus behaviours that pass the schema's types but not its sense:
    `confidence:<value>` answers with that confidence for every signal (NaN, Infinity, 1.5, ...);
    `length` answers with finish_reason "length", 3000 prompt tokens and as many completion tokens
    as the request allowed (4000 if it set no limit)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._current = threading.local()

    def _next_behaviour(self, document: str) -> str:
        behaviour = super()._next_behaviour(document)
        self._current.behaviour = behaviour
        return "answer" if behaviour.startswith("confidence:") or behaviour == "length" else behaviour

    def respond(self, body: dict, headers: dict):
        self._current.behaviour = "answer"
        status, extra, answer = super().respond(body, headers)
        behaviour = self._current.behaviour
        if behaviour.startswith("confidence:"):
            value = behaviour.split(":", 1)[1]
            message = answer["choices"][0]["message"]
            calls = message.get("tool_calls")
            verdicts = json.loads(calls[0]["function"]["arguments"] if calls else message["content"])
            for verdict in verdicts.values():
                verdict["confidence"] = value  # a string: pydantic reads "NaN" and "Infinity" as floats
            text = json.dumps(verdicts)
            if calls:
                calls[0]["function"]["arguments"] = text
            else:
                message["content"] = text
        elif behaviour == "length":
            answer["choices"][0]["finish_reason"] = "length"
            # Cut at the answer length the request allowed, as a server bills it.
            completion = body.get("max_completion_tokens") or body.get("max_tokens") or 4000
            answer["usage"] = {"prompt_tokens": 3000, "completion_tokens": completion, "total_tokens": 3000 + completion}
        return status, extra, answer


def doc(doc_id: str, text: str) -> Document:
    return Document(id=doc_id, account_id="acme", source="email", date="2026-03-02", text=text)


def make(server: OpenAIServer, home, local=None, **changes) -> LLMClassifier:
    return scripted_llm(server, home, PRICES, local, **changes)


def _finite(result) -> bool:
    return all(math.isfinite(v) and 0 <= v <= 1 for v in result.confidence.values())


# --- confidences: NaN, infinity, out of range -------------------------------------------------------
@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_a_confidence_that_is_no_number_is_one_failed_document_and_never_cached(home, local, value):
    with FaultyServer() as server:
        server.script("layoffs across the region", f"confidence:{value}", f"confidence:{value}")
        classifier = make(server, home, local=local, max_concurrency=1)
        results = classifier.classify([doc("b", BUDGET), doc("q", QUIET)])
        asked = len(server.requests_for("layoffs across the region"))
    assert asked == 2  # asked once more with the error, as any invalid answer
    assert [(r.doc_id, r.backend, r.note) for r in results] == [("b", "local-fallback", "llm invalid answer"), ("q", "llm", "")]
    assert all(_finite(r) for r in results)
    json.dumps([r.confidence for r in results], allow_nan=False)  # the printed JSON is JSON
    assert classifier.stats["fallback_reasons"] == {"llm invalid answer": 1} and classifier.stats["prompt_tokens"] > 0
    assert classifier.cache.count() == 1  # the quiet document's answer only
    assert "NaN" not in json.dumps(list(AnswerCache(home / "llm_cache.sqlite").get_many([doc("b", BUDGET).content_hash], "scripted-model", classifier.prompt.version)))


@pytest.mark.parametrize("value", ["3.0", "-1"])
def test_a_finite_confidence_out_of_range_is_clamped_not_fatal(home, local, value):
    """Small local models (SmolLM2 through llama.cpp) answer 3.0: read as 1.0, as before."""
    with FaultyServer() as server:
        server.script("layoffs across the region", f"confidence:{value}")
        classifier = make(server, home, local=local)
        [result] = classifier.classify([doc("b", BUDGET)])
        assert len(server.requests) == 1
    assert result.backend == "llm" and result.labels == ["budget_pressure"] and _finite(result)


def test_a_nan_answer_corrected_on_the_second_ask_is_used_and_cached(home, local):
    with FaultyServer() as server:
        server.script("layoffs across the region", "confidence:NaN")
        classifier = make(server, home, local=local)
        [result] = classifier.classify([doc("b", BUDGET)])
        retry = server.requests_for("layoffs across the region")[1]["body"]["messages"][0]["content"]
    assert result.backend == "llm" and result.labels == ["budget_pressure"] and _finite(result)
    assert "rejected" in retry and "confidence" in retry
    assert classifier.cache.count() == 1


def test_a_cache_poisoned_by_an_older_version_is_a_miss_not_a_crash(home, local):
    budget = doc("b", BUDGET)
    with FaultyServer() as server:
        classifier = make(server, home, local=local)
        poisoned = {s: {"evidence": [], "rationale": "none", "present": False, "confidence": float("nan")} for s in classifier.prompt.signals}
        # As the old code wrote it: json.dumps lets NaN through.
        with classifier.cache._conn:
            classifier.cache._conn.execute(
                "INSERT INTO llm_answers VALUES (?, ?, ?, ?, 0, 0, 0)",
                (budget.content_hash, "scripted-model", classifier.prompt.version, json.dumps(poisoned)),
            )
        [result] = classifier.classify([budget])
        assert len(server.requests) == 1
    assert result.backend == "llm" and result.labels == ["budget_pressure"] and _finite(result)
    assert classifier.stats["cached"] == 0 and classifier.stats["sent"] == 1
    [hit] = classifier.cache.get_many([budget.content_hash], "scripted-model", classifier.prompt.version).values()
    assert hit.answer["budget_pressure"]["present"] is True  # replaced by the real answer
    assert all(math.isfinite(v["confidence"]) for v in hit.answer.values())


def test_the_cache_refuses_non_finite_numbers(home):
    cache = AnswerCache(home / "c.sqlite")
    with pytest.raises(ValueError):
        cache.put("h", "m", "v", {"s": {"confidence": float("nan")}}, 1, 1)
    assert cache.count() == 0


def test_an_answer_that_cannot_be_converted_falls_back_for_that_document_only(home, local, monkeypatch):
    real = llm_module.quote_as_written

    def broken(quote: str, text: str) -> str:
        if "layoffs" in quote:
            raise ValueError("cannot place this quote")
        return real(quote, text)

    monkeypatch.setattr(llm_module, "quote_as_written", broken)
    with FaultyServer() as server:
        classifier = make(server, home, local=local)
        results = classifier.classify([doc("b", BUDGET), doc("r", RISKY)])
    assert [(r.doc_id, r.backend, r.note) for r in results] == [("b", "local-fallback", "llm invalid answer"), ("r", "llm", "")]
    assert classifier.cache.count() == 1  # only the answer that converted
    assert classifier.cache.pending() == {"b": doc("b", BUDGET).content_hash}


# --- what was paid for counts -----------------------------------------------------------------------
def test_answers_cut_short_count_their_tokens_and_the_ceiling_holds(home, local):
    docs = [doc(f"d{i}", f"{BUDGET} Ticket {i}.") for i in range(8)]
    with FaultyServer() as server:
        server.script_tickets(range(8), "length", "length")
        classifier = make(server, home, local=local, max_concurrency=1, max_cost_usd=0.10, max_answer_tokens=1200)
        results = classifier.classify(docs)
        sent = len(server.requests)
        limits = {request["body"].get("max_completion_tokens") for request in server.requests}
    stats = classifier.stats
    assert limits == {1200}  # every request says how long its answer may be
    # $0.042 an answer (3000 + 1200 tokens at $10 a million): a third would pass the ceiling.
    assert sent == 2 and stats["sent"] == 2
    assert stats["prompt_tokens"] == 6000 and stats["completion_tokens"] == 2400
    assert stats["cost_usd"] == pytest.approx(0.084)
    assert stats["stopped"] == "llm cost ceiling reached"
    assert {r.backend for r in results} == {"local-fallback"}
    assert "6000 prompt + 2400 completion tokens" in classifier.summary() and "$0.0840" in classifier.summary()


def test_a_re_ask_is_paid_for_so_it_waits_for_room_under_the_ceiling(home, local):
    """An invalid answer is asked once more with the error; that second request is reserved
    like the first, and where it does not fit the document falls back instead."""
    docs = [doc(f"d{i}", f"{BUDGET} Ticket {i}.") for i in range(6)]
    with FaultyServer() as server:
        server.script_tickets(range(6), "confidence:NaN", "confidence:NaN")
        probe = make(server, home / "probe", local=local, max_concurrency=1, max_cost_usd=10.0)
        probe.classify(docs[:1])
        both_tries = probe.stats["cost_usd"]
        assert len(server.requests) == 2  # the answer and its one re-ask
        server.reset()
        server.script_tickets(range(6), "confidence:NaN", "confidence:NaN")
        ceiling = both_tries * 2.2
        classifier = make(server, home, local=local, max_concurrency=3, max_cost_usd=ceiling)
        results = classifier.classify(docs[1:])
    assert classifier.stats["cost_usd"] <= ceiling
    assert {r.backend for r in results} == {"local-fallback"}


def test_an_html_page_answer_keeps_its_reserved_estimate_as_spent(home, local):
    with FaultyServer() as server:
        server.script("layoffs across the region", "html")
        classifier = make(server, home, local=local)
        [result] = classifier.classify([doc("b", BUDGET)])
    stats = classifier.stats
    assert result.backend == "local-fallback" and result.note == "llm bad response body"
    assert stats["prompt_tokens"] > 20 and stats["completion_tokens"] > 0 and stats["estimated_usage"] == 1
    assert stats["cost_usd"] > 0 and "estimated" in classifier.summary()
    audit = [json.loads(line) for line in (home / llm_module.AUDIT_FILE).read_text().splitlines()]
    assert audit[0]["outcome"] == "bad response body" and audit[0]["prompt_tokens"] > 0


# --- the deadline bounds the process ----------------------------------------------------------------
def test_no_request_outlives_the_run_deadline(home, local):
    """A server that never answers, a 60 s timeout and retries: once the deadline passes, nothing
    is left waiting on the server (the interpreter would wait for it at exit)."""
    docs = [doc(f"d{i}", f"{BUDGET} Ticket {i}.") for i in range(6)]
    with FaultyServer(stall_s=30) as server:
        server.script_tickets(range(6), "stall", "stall", "stall")
        classifier = make(server, home, local=local, run_deadline_s=2, timeout_s=60, max_retries=2, max_concurrency=3)
        before = set(threading.enumerate())
        started = time.monotonic()
        results = classifier.classify(docs)
        returned = time.monotonic() - started


        def waiting() -> list[str]:  # the client's threads; the server's own handlers sleep on
            return [t.name for t in threading.enumerate() if t not in before and t.is_alive() and "process_request" not in t.name]

        while waiting() and time.monotonic() - started < 5:
            time.sleep(0.05)
        left = waiting()
        ended = time.monotonic() - started
        requests = len(server.requests)
    assert returned < 3.5, returned
    assert left == [] and ended < 4, (left, ended)
    assert requests == 3  # the first three, never retried past the deadline
    assert {r.note for r in results} == {"llm run deadline passed"}
    assert classifier.stats["stopped"] == "llm run deadline passed"
