"""The `llm` backend: any OpenAI-compatible endpoint, through langchain-openai structured output.

What the offline path guarantees still holds: every evidence quote is found in the document or
the flag is dropped; a timeout, an invalid answer, an unreachable server or a spent budget falls
back to the `fallback` classifier (the local one, from settings) for that document, marked in
`backend` and `note`; answers already paid for are cached, so a re-run costs nothing for
documents it has seen.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from pathlib import Path
from queue import Empty, Queue

from undertow.extractor.backends import Classifier
from undertow.extractor.chat import (
    DEADLINE_REASON,
    AuditLog,
    ChatFailure,
    ChatRefused,
    FormatMemory,
    StructuredChat,
    Usage,
    endpoint_name,
    estimate_tokens,
    messages_text,
)
from undertow.extractor.grounding import ground_quotes
from undertow.extractor.llm_cache import AnswerCache
from undertow.extractor.llm_prompt import (
    ExtractionPrompt,
    load_prompt,
    quote_as_written,
)
from undertow.extractor.local_backend import LocalClassifier
from undertow.extractor.redact import Redactor, fit
from undertow.extractor.results import Classification, SignalFlag
from undertow.extractor.sentences import EmbeddedText

from undertow.documents import Document
from undertow.errors import ConfigurationError
from undertow.settings import LLMSettings, Settings

log = logging.getLogger(__name__)

CACHE_FILE = "llm_cache.sqlite"
FORMATS_FILE = "llm_formats.json"  # the structured-output method each endpoint and model accepted
AUDIT_FILE = "llm_audit.jsonl"  # what was sent, one line per request
MAX_EVIDENCE = 3
INVALID_ANSWER = "llm invalid answer"
DEADLINE_PASSED = f"llm {DEADLINE_REASON}"


class LLMNotConfigured(ConfigurationError):
    """Raised before any work starts, so the user gets one line telling them what to set."""


class LLMEndpointError(ConfigurationError):
    """The endpoint refuses every request (bad key, unknown model): stopping beats N fallbacks."""


class LLMUnanswered(RuntimeError):
    """A document got no usable answer and no fallback classifier was given to read it instead."""


def require_endpoint(llm: LLMSettings, backend: str = "llm") -> None:
    if not llm.configured:
        raise LLMNotConfigured(
            f"--backend {backend} needs an OpenAI-compatible endpoint: set OPENAI_API_KEY for OpenAI, or OPENAI_BASE_URL "
            "(e.g. http://localhost:11434/v1 for Ollama) and UNDERTOW_LLM_MODEL, in the environment or the llm section "
            "of config.toml in the home folder; --backend local runs offline"
        )


@dataclass
class Attempt:
    """One document's trip to the endpoint: a validated answer, or why there is none."""

    answer: dict | None = None
    failure: str = ""
    usage: Usage = Usage()
    redacted: bool = False
    answered: bool = False  # the server answered (not the JSON asked for): the request was paid for


@dataclass(frozen=True)
class Request:
    messages: list
    redactor: Redactor | None


def _signal_words(prompt: ExtractionPrompt):
    """A sentence's score for `fit`: how many words it shares with the signal definitions and
    examples in the system prompt, so a long document keeps the sentences that may carry one."""
    words = {w for w in re.findall(r"[^\W\d_]{5,}", prompt.system.lower())}

    def score(sentence: str) -> float:
        return float(len(set(re.findall(r"[^\W\d_]{5,}", sentence.lower())) & words))

    return score


class LLMClassifier(Classifier):
    name = "llm"

    def __init__(self, llm: LLMSettings, cache: AnswerCache, fallback: Classifier | None = None, prompt: ExtractionPrompt | None = None,
                 home: Path | None = None, unanswered: tuple[str, str] = ("using the fallback classifier for it", "the remaining documents use the fallback classifier")):
        """`fallback` reads the documents the endpoint could not answer; without one, such a
        document raises LLMUnanswered. `home` keeps the negotiated output format and the audit
        log of what was sent (none without it). `unanswered` is what the log says becomes of a
        document the endpoint did not answer, and of the rest when it stops sending (distill
        leaves them unlabelled)."""
        self._unanswered, self._rest_unanswered = unanswered
        self.settings = llm
        self.cache = cache
        self.prompt = prompt or load_prompt()
        self.fallback = fallback
        if llm.max_cost_usd is not None and llm.price() is None:
            raise ConfigurationError(
                f"max_cost_usd is set but no price is known for the model {llm.model!r}: add its prices to config.toml "
                f"([llm.prices.\"{llm.model}\"] input = ..., output = ..., USD per million tokens)"
            )
        self._chat = StructuredChat(
            llm, self.prompt.answer_model,
            memory=FormatMemory(home / FORMATS_FILE if home else None), audit=AuditLog(home / AUDIT_FILE if home else None),
        )
        self._stats: dict = {
            "sent": 0,
            "cached": 0,
            "fallbacks": 0,
            "dropped_ungrounded": 0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "estimated_usage": 0,
            "cost_usd": 0.0 if llm.price() is not None else None,
            "redacted": 0,
            "fallback_reasons": Counter(),
        }
        self._stop_reason = ""
        self._reserved = 0.0  # estimated cost of the requests in flight
        self._reserved_again: dict[str, float] = {}  # of those, re-asks reserved by worker threads
        self._budget_lock = threading.Lock()  # the main loop and re-asking workers both reserve
        self._consecutive_failures = 0
        self._deadline: float | None = None
        self._keywords = _signal_words(self.prompt)

    @classmethod
    def from_settings(cls, settings: Settings, fallback: Classifier | None = None) -> LLMClassifier:
        """The home's endpoint, cache, audit log, format memory and signals; `fallback` defaults to
        the home's local classifier (hybrid passes the one it screens with)."""
        require_endpoint(settings.llm)
        # Built up front (about 0.1 s): a local model that cannot load is better found before
        # the run pays for any request than at its first fallback.
        from undertow.prompts import load_signals

        prompt = load_prompt(signals=load_signals(settings.signals_file))  # the home's signals too
        home = settings.resolved_home
        return cls(settings.llm, AnswerCache(home / CACHE_FILE), fallback=fallback or LocalClassifier.from_settings(settings), prompt=prompt, home=home)

    @property
    def model_version(self) -> str:
        return f"{self.settings.model}:{self.prompt.version}"

    @property
    def stats(self) -> dict:
        """A snapshot: what was sent, reused, lost to fallbacks, and what it cost (None: no price
        is known for the model)."""
        return {**self._stats, "fallback_reasons": dict(self._stats["fallback_reasons"]), "stopped": self._stop_reason or None}

    # --- classify ------------------------------------------------------------------------------
    def classify(self, docs: list[Document], embedded: list[EmbeddedText] | None = None) -> list[Classification]:
        if self._deadline is None and self.settings.run_deadline_s is not None:
            self._deadline = time.monotonic() + self.settings.run_deadline_s  # the run starts with its first batch
        cached = self.cache.get_many([d.content_hash for d in docs], self.settings.model, self.prompt.version)
        # An entry that no longer validates (written before confidences were checked) is a miss:
        # asked again, and replaced by the answer that comes back.
        answers: dict[str, dict] = {key: hit.answer for key, hit in cached.items() if self._valid(hit.answer)}
        if len(answers) < len(cached):
            log.warning("%d cached LLM answers are invalid; asking again", len(cached) - len(answers))
        self._stats["cached"] += sum(1 for d in docs if d.content_hash in answers)
        # Identical documents in one batch (forwarded threads, re-sent emails) are asked once.
        to_send = list({d.content_hash: d for d in docs if d.content_hash not in answers}.values())
        failures: dict[str, str] = {}
        for key, attempt in self._ask_all(to_send).items():
            if attempt.answer is not None:
                answers[key] = attempt.answer
            else:
                failures[key] = attempt.failure

        results: list[Classification | None] = [None] * len(docs)
        fallback_at: list[int] = []
        for i, doc in enumerate(docs):
            if doc.content_hash in answers:
                try:
                    results[i] = self._from_answer(doc, answers[doc.content_hash])
                    continue
                except (ValueError, TypeError, KeyError, AttributeError) as error:
                    # One answer that cannot become a classification is one failed document.
                    log.warning("%s: the LLM answer could not be read (%s); %s", doc.id, error, self._unanswered)
                    failures.setdefault(doc.content_hash, INVALID_ANSWER)
            fallback_at.append(i)
        failed = {docs[i].content_hash for i in fallback_at}
        self.cache.mark_pending([d for d in docs if d.content_hash in failed], self.settings.model, self.prompt.version)
        self.cache.clear_pending([d.id for d in docs if d.content_hash not in failed])
        if fallback_at:
            if self.fallback is None:
                first = docs[fallback_at[0]]
                raise LLMUnanswered(f"{first.id}: {failures[first.content_hash]}, and no fallback classifier was given")
            subset_embedded = [embedded[i] for i in fallback_at] if embedded is not None else None
            fallback_results = self.fallback.classify([docs[i] for i in fallback_at], subset_embedded)
            for i, result in zip(fallback_at, fallback_results):
                reason = failures[docs[i].content_hash]
                self._stats["fallbacks"] += 1
                self._stats["fallback_reasons"][reason] += 1
                results[i] = result.model_copy(update={"backend": f"{self.fallback.name}-fallback", "note": reason})
        return [r for r in results if r is not None]

    def summary(self) -> str:
        """One line for a run's log: what was sent, reused, lost to fallbacks, and what it cost."""
        s = self._stats
        reasons = ", ".join(f"{n} {reason}" for reason, n in s["fallback_reasons"].most_common())
        cost = f"est. ${s['cost_usd']:.4f}" if s["cost_usd"] is not None else f"cost unknown (no price for {self.settings.model!r} in config)"
        return (
            f"{self.name}: {s['sent']} sent, {s['cached']} from cache, {s['fallbacks']} fell back"
            + (f" to {self.fallback.name}" if self.fallback is not None else "")
            + (f" ({reasons})" if reasons else "")
            + (f"; stopped sending: {self._stop_reason}" if self._stop_reason else "")
            + f", {s['dropped_ungrounded']} flags dropped without evidence in the text; "
            f"{s['prompt_tokens']} prompt + {s['completion_tokens']} completion tokens"
            + (f" ({s['estimated_usage']} answers without usage, estimated)" if s["estimated_usage"] else "")
            + f", {cost}"
            + (f"; personal data redacted in {s['redacted']} requests" if s["redacted"] else "")
        )

    # --- talking to the endpoint ---------------------------------------------------------------
    def _ask_all(self, docs: list[Document]) -> dict[str, Attempt]:
        """Ask for every document, at most max_concurrency at a time, in daemon threads; stop
        submitting at the run's deadline, when the breaker opens, when the next request could
        pass the cost ceiling, or when the endpoint is unreachable. At the deadline, requests
        still in flight are abandoned (their estimated cost stays counted). Answers are cached
        as they land, so an interrupted run keeps what it paid for."""
        attempts: dict[str, Attempt] = {}
        queue = deque(docs)
        done: Queue = Queue()
        running: dict[str, tuple[Document, Usage]] = {}
        while queue or running:
            while queue and len(running) < self.settings.max_concurrency and not self._check_stop():
                doc = queue[0]
                request = self._request(doc)
                estimate = self._estimate(request)
                if not self._can_afford(self._cost(estimate)):
                    break
                queue.popleft()
                self._stats["sent"] += 1
                running[doc.content_hash] = (doc, estimate)
                threading.Thread(target=self._worker, args=(doc, request, done), daemon=True, name="undertow-llm").start()
            if not running:
                break
            try:
                key, attempt = done.get(timeout=self._remaining())
            except Empty:
                self._stop(DEADLINE_PASSED)
                for key, (doc, estimate) in running.items():
                    attempts[key] = Attempt(failure=DEADLINE_PASSED)
                    # May still be billed: counted, never released.
                    self._charge(Usage(), self._cost(estimate) + self._reserved_again.get(key, 0.0))
                running.clear()
                break
            if isinstance(attempt, BaseException):
                raise attempt
            doc, estimate = running.pop(key)
            with self._budget_lock:
                self._reserved -= self._cost(estimate) + self._reserved_again.pop(key, 0.0)
            self._record(doc, attempt, estimate)
            attempts[key] = attempt
        for doc in queue:
            attempts[doc.content_hash] = Attempt(failure=self._stop_reason or "llm cost ceiling reached")
        return attempts

    def _remaining(self) -> float | None:
        return None if self._deadline is None else max(0.0, self._deadline - time.monotonic())

    def _stop(self, reason: str) -> None:
        if not self._stop_reason:
            self._stop_reason = reason
            log.warning("%s; %s", reason, self._rest_unanswered)

    def _check_stop(self) -> bool:
        if self._deadline is not None and time.monotonic() >= self._deadline:
            self._stop(DEADLINE_PASSED)
        return bool(self._stop_reason)

    def _estimate(self, request: Request) -> Usage:
        """Before sending: the prompt's tokens plus the longest answer the request allows."""
        return Usage(estimate_tokens(messages_text(request.messages)), self.settings.max_answer_tokens, estimated=True)

    def _cost(self, usage: Usage) -> float:
        return usage.cost_usd(self.settings) or 0.0

    def _can_afford(self, estimate: float) -> bool:
        """Reserves `estimate` for a document's request, or stops sending."""
        if self._reserve(estimate):
            return True
        self._stop("llm cost ceiling reached")
        log.warning("the run's LLM cost (spent and in flight: $%.4f, next request ~$%.4f) would pass max_cost_usd ($%.4f)",
                    (self._stats["cost_usd"] or 0.0) + self._reserved, estimate, self.settings.max_cost_usd)
        return False

    def _reserve(self, amount: float, key: str | None = None) -> bool:
        """Holds `amount` against the ceiling if it fits; `key` marks a re-ask, which a worker
        thread reserves for its document before sending it."""
        with self._budget_lock:
            ceiling = self.settings.max_cost_usd
            if ceiling is not None and (self._stats["cost_usd"] or 0.0) + self._reserved + amount > ceiling:
                return False
            self._reserved += amount
            if key is not None:
                self._reserved_again[key] = self._reserved_again.get(key, 0.0) + amount
            return True

    def _request(self, doc: Document) -> Request:
        """The messages for `doc` as they will leave the machine: personal data redacted when the
        endpoint is not on this machine (or always, if so configured), the text cut to the
        request's maximum around the sentences that matter most."""
        redactor = Redactor(names=[doc.author]).learn(doc.text, doc.subject) if self.settings.redacts else None
        text, subject = doc.text, doc.subject
        if redactor is not None:
            text, subject = redactor.redact(text), redactor.redact(subject)
        text = fit(text, self.settings.max_request_chars, score=self._keywords)
        sent = doc.model_copy(update={"text": text, "subject": subject, "author": ""})
        return Request(self.prompt.messages(sent), redactor)

    def _worker(self, doc: Document, request: Request, done: Queue) -> None:
        try:
            done.put((doc.content_hash, self._ask(doc, request)))
        except BaseException as error:  # noqa: BLE001 - handed to the main thread, raised there
            done.put((doc.content_hash, error))

    def _ask(self, doc: Document, request: Request) -> Attempt:
        """Runs in a worker thread; touches nothing shared but the budget, under its lock."""
        try:
            again = self._cost(self._estimate(request))
            reply = self._chat.ask(request.messages, tag=doc.id, deadline=self._deadline,
                                   afford_again=lambda: self._reserve(again, key=doc.content_hash))
        except ChatRefused as refused:
            raise LLMEndpointError(
                f"the LLM endpoint {endpoint_name(self.settings)} refused the request ({refused.status_code}): "
                f"check OPENAI_API_KEY, OPENAI_BASE_URL and the model name {self.settings.model!r}"
            ) from None
        except ChatFailure as failure:
            return Attempt(failure=f"llm {failure.reason}", usage=failure.usage, redacted=request.redactor is not None, answered=failure.answered)
        answer = reply.answer.model_dump()
        if request.redactor is not None:
            answer = request.redactor.restore_all(answer)  # quotes back to the text as written, here
        return Attempt(answer=answer, usage=reply.usage, redacted=request.redactor is not None)

    def _charge(self, usage: Usage, extra_usd: float = 0.0) -> None:
        self._stats["prompt_tokens"] += usage.prompt_tokens
        self._stats["completion_tokens"] += usage.completion_tokens
        self._stats["estimated_usage"] += int(usage.estimated)
        cost = usage.cost_usd(self.settings)
        with self._budget_lock:
            if self._stats["cost_usd"] is not None:
                self._stats["cost_usd"] += (cost or 0.0) + extra_usd

    def _record(self, doc: Document, attempt: Attempt, estimate: Usage) -> None:
        """Main thread only: counts tokens and cost, caches a real answer (one that becomes a
        classification), logs a failure. A server that answered but reported no usage keeps the
        estimate reserved for the request as spent: it was not free."""
        usage = attempt.usage
        if attempt.answer is None and attempt.answered and usage.estimated:
            usage = Usage(max(usage.prompt_tokens, estimate.prompt_tokens), max(usage.completion_tokens, estimate.completion_tokens), estimated=True)
            attempt.usage = usage
        self._charge(usage)
        self._stats["redacted"] += int(attempt.redacted)
        if attempt.answer is not None:
            try:
                self._convert(doc, attempt.answer)  # only an answer that converts is kept
                self.cache.put(
                    doc.content_hash, self.settings.model, self.prompt.version, attempt.answer,
                    attempt.usage.prompt_tokens, attempt.usage.completion_tokens,
                )
            except (ValueError, TypeError, KeyError, AttributeError) as error:
                log.warning("%s: the LLM answer could not be read (%s)", doc.id, error)
                attempt.answer, attempt.failure, attempt.answered = None, INVALID_ANSWER, True
            else:
                self._consecutive_failures = 0
                return
        log.warning("%s: %s; %s", doc.id, attempt.failure, self._unanswered)
        if attempt.failure == DEADLINE_PASSED:
            self._stop(attempt.failure)
        elif attempt.failure == "llm unreachable":
            # One unreachable answer after the client's retries means the rest would wait as long.
            self._stop(attempt.failure)
        elif attempt.failure != INVALID_ANSWER:
            self._consecutive_failures += 1
            if self._consecutive_failures >= self.settings.breaker_failures:
                self._stop(f"llm circuit open after {self._consecutive_failures} failures in a row")

    # --- answers into classifications ----------------------------------------------------------
    def _valid(self, answer: dict) -> bool:
        """Whether a stored answer still passes the answer schema (a finite confidence in 0..1)."""
        try:
            self.prompt.answer_model.model_validate(answer)
        except (ValueError, TypeError):
            return False
        return True

    def _from_answer(self, doc: Document, answer: dict) -> Classification:
        """Raises ValueError (or TypeError, KeyError) for an answer that cannot be read."""
        result, dropped = self._convert(doc, answer)
        self._stats["dropped_ungrounded"] += dropped
        return result

    def _convert(self, doc: Document, answer: dict) -> tuple[Classification, int]:
        """The classification an answer gives `doc`, and how many flags it lost for want of
        evidence in the text; changes nothing."""
        flags: list[SignalFlag] = []
        confidence: dict[str, float] = {}
        dropped: list[str] = []
        for signal in self.prompt.signals:
            verdict = answer[signal]
            # The model's confidence is in its verdict; 0.5 is a guess, so a flag never scores below it.
            raw = float(verdict["confidence"])
            if not math.isfinite(raw):
                raise ValueError(f"{signal}: confidence {raw} is not a number from 0 to 1")
            certainty = min(max(raw, 0.5), 1.0)
            score = certainty if verdict["present"] else 1.0 - certainty
            if verdict["present"]:
                quotes = [quote_as_written(q, doc.text) for q in verdict["evidence"]]
                grounded = ground_quotes(quotes, doc.text)
                if grounded.evidence:
                    rationale = " ".join(verdict["rationale"].split())[:240]
                    flags.append(SignalFlag(signal=signal, confidence=score, evidence=grounded.evidence[:MAX_EVIDENCE], rationale=rationale))
                else:
                    # No quote in the text: read as an absent verdict, never shown to a CSM.
                    dropped.append(signal)
                    score = 1.0 - certainty
            confidence[signal] = round(score, 4)
        note = f"dropped without evidence in the text: {', '.join(dropped)}" if dropped else ""
        result = Classification(doc_id=doc.id, flags=flags, confidence=confidence, backend=self.name, model_version=self.model_version, note=note)
        return result, len(dropped)

