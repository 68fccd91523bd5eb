"""The `llm` backend: any OpenAI-compatible endpoint, through langchain-openai structured output.

What the offline path guarantees still holds: every evidence quote is found in the document or
the flag is dropped; a timeout, an invalid answer, an unreachable server or a spent budget falls
back to the `fallback` classifier (the local one, from settings) for that document, marked in
`backend` and `note`; answers already paid for are cached, so a re-run costs nothing for
documents it has seen.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from undertow.documents import Document
from undertow.errors import ConfigurationError
from undertow.extractor.backends import Classifier
from undertow.extractor.chat import ChatFailure, ChatRefused, StructuredChat, Usage, endpoint_name
from undertow.extractor.grounding import ground_quotes
from undertow.extractor.llm_cache import AnswerCache
from undertow.extractor.llm_prompt import ExtractionPrompt, load_prompt, quote_as_written
from undertow.extractor.local_backend import LocalClassifier
from undertow.extractor.results import Classification, SignalFlag
from undertow.extractor.sentences import EmbeddedText
from undertow.settings import LLMSettings, Settings

log = logging.getLogger(__name__)

CACHE_FILE = "llm_cache.sqlite"
MAX_EVIDENCE = 3


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


class LLMClassifier(Classifier):
    name = "llm"

    def __init__(self, llm: LLMSettings, cache: AnswerCache, fallback: Classifier | None = None, prompt: ExtractionPrompt | None = None):
        """`fallback` reads the documents the endpoint could not answer; without one, such a
        document raises LLMUnanswered."""
        self.settings = llm
        self.cache = cache
        self.prompt = prompt or load_prompt()
        self.fallback = fallback
        self._chat = StructuredChat(llm, self.prompt.answer_model)
        self._stats: dict = {
            "sent": 0,
            "cached": 0,
            "fallbacks": 0,
            "dropped_ungrounded": 0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "cost_usd": 0.0,
            "fallback_reasons": Counter(),
        }
        self._stop_reason = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> "LLMClassifier":
        require_endpoint(settings.llm)
        # Built up front (about 0.1 s): a local model that cannot load is better found before
        # the run pays for any request than at its first fallback.
        from undertow.prompts import load_signals

        prompt = load_prompt(signals=load_signals(settings.signals_file))  # the home's signals too
        return cls(settings.llm, AnswerCache(settings.resolved_home / CACHE_FILE), fallback=LocalClassifier.from_settings(settings), prompt=prompt)

    @property
    def model_version(self) -> str:
        return f"{self.settings.model}:{self.prompt.version}"

    @property
    def stats(self) -> dict:
        """A snapshot: what was sent, reused, lost to fallbacks, and what it cost."""
        return {**self._stats, "fallback_reasons": Counter(self._stats["fallback_reasons"])}

    # --- classify ------------------------------------------------------------------------------
    def classify(self, docs: list[Document], embedded: list[EmbeddedText] | None = None) -> list[Classification]:
        cached = self.cache.get_many([d.content_hash for d in docs], self.settings.model, self.prompt.version)
        answers: dict[str, dict] = {key: hit.answer for key, hit in cached.items()}
        self._stats["cached"] += sum(1 for d in docs if d.content_hash in cached)
        # Identical documents in one batch (forwarded threads, re-sent emails) are asked once.
        to_send = list({d.content_hash: d for d in docs if d.content_hash not in cached}.values())
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
                results[i] = self._from_answer(doc, answers[doc.content_hash])
            else:
                fallback_at.append(i)
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
        return (
            f"{self.name}: {s['sent']} sent, {s['cached']} from cache, {s['fallbacks']} fell back"
            + (f" to {self.fallback.name}" if self.fallback is not None else "")
            + (f" ({reasons})" if reasons else "")
            + f", {s['dropped_ungrounded']} flags dropped without evidence in the text; "
            f"{s['prompt_tokens']} prompt + {s['completion_tokens']} completion tokens, est. ${s['cost_usd']:.4f}"
        )

    # --- talking to the endpoint ---------------------------------------------------------------
    def _ask_all(self, docs: list[Document]) -> dict[str, Attempt]:
        """Ask for every document, at most max_concurrency at a time; stop submitting once the
        cost ceiling is passed or the endpoint is unreachable. Answers are cached as they land,
        so an interrupted run keeps what it paid for."""
        attempts: dict[str, Attempt] = {}
        queue = deque(docs)
        limit = self.settings.max_concurrency
        with ThreadPoolExecutor(max_workers=limit, thread_name_prefix="undertow-llm") as pool:
            running: dict[Future, Document] = {}
            while queue or running:
                while queue and len(running) < limit and not self._check_stop():
                    doc = queue.popleft()
                    self._stats["sent"] += 1
                    running[pool.submit(self._ask, doc)] = doc
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    doc = running.pop(future)
                    attempt = future.result()
                    self._record(doc, attempt)
                    attempts[doc.content_hash] = attempt
        for doc in queue:
            attempts[doc.content_hash] = Attempt(failure=self._stop_reason)
        return attempts

    def _check_stop(self) -> bool:
        ceiling = self.settings.max_cost_usd
        if not self._stop_reason and ceiling is not None and self._stats["cost_usd"] >= ceiling:
            self._stop_reason = "llm cost ceiling reached"
            log.warning(
                "the run's estimated LLM cost ($%.4f) passed max_cost_usd ($%.4f); the remaining documents use the fallback classifier",
                self._stats["cost_usd"],
                ceiling,
            )
        return bool(self._stop_reason)

    def _ask(self, doc: Document) -> Attempt:
        """Runs in a worker thread; touches nothing shared."""
        try:
            reply = self._chat.ask(self.prompt.messages(doc))
        except ChatRefused as refused:
            raise LLMEndpointError(
                f"the LLM endpoint {endpoint_name(self.settings)} refused the request ({refused.status_code}): "
                f"check OPENAI_API_KEY, OPENAI_BASE_URL and the model name {self.settings.model!r}"
            ) from None
        except ChatFailure as failure:
            return Attempt(failure=f"llm {failure.reason}", usage=failure.usage)
        return Attempt(answer=reply.answer.model_dump(), usage=reply.usage)

    def _record(self, doc: Document, attempt: Attempt) -> None:
        """Main thread only: counts tokens and cost, caches a real answer, logs a failure."""
        self._stats["prompt_tokens"] += attempt.usage.prompt_tokens
        self._stats["completion_tokens"] += attempt.usage.completion_tokens
        self._stats["cost_usd"] += attempt.usage.cost_usd(self.settings)
        if attempt.answer is not None:
            self.cache.put(
                doc.content_hash, self.settings.model, self.prompt.version, attempt.answer,
                attempt.usage.prompt_tokens, attempt.usage.completion_tokens,
            )
            return
        log.warning("%s: %s; using the fallback classifier for it", doc.id, attempt.failure)
        if attempt.failure == "llm unreachable":
            # One unreachable answer after the client's retries means the rest would wait as long.
            self._stop_reason = attempt.failure

    # --- answers into classifications ----------------------------------------------------------
    def _from_answer(self, doc: Document, answer: dict) -> Classification:
        flags: list[SignalFlag] = []
        confidence: dict[str, float] = {}
        dropped: list[str] = []
        for signal in self.prompt.signals:
            verdict = answer[signal]
            # The model's confidence is in its verdict; 0.5 is a guess, so a flag never scores below it.
            certainty = min(max(float(verdict["confidence"]), 0.5), 1.0)
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
        self._stats["dropped_ungrounded"] += len(dropped)
        note = f"dropped without evidence in the text: {', '.join(dropped)}" if dropped else ""
        return Classification(doc_id=doc.id, flags=flags, confidence=confidence, backend=self.name, model_version=self.model_version, note=note)

