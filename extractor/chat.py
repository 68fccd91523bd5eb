"""The one way Undertow talks to an OpenAI-compatible chat endpoint: structured output into a
pydantic model, the same typed failures for every caller, and what each answer cost.

Callers (the `llm` classifier, the `ask` narrative) word the failures for their own readers; what
counts as a timeout, a refusal or an invalid answer is decided here only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import openai
from pydantic import BaseModel, ValidationError

from undertow.extractor.retries import DeadlineCut, send_with_retries
from undertow.masking import mask_url
from undertow.settings import LLMSettings

Answer = TypeVar("Answer", bound=BaseModel)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = False  # counted from the text: the server reported no usage

    @classmethod
    def of(cls, message, sent_text: str = "") -> Usage:
        """The tokens a langchain AIMessage reports; estimated from the text when the server
        sent no `usage`, so a silent server is never free."""
        usage = getattr(message, "usage_metadata", None) or {}
        prompt, completion = int(usage.get("input_tokens", 0) or 0), int(usage.get("output_tokens", 0) or 0)
        if prompt or completion:
            return cls(prompt, completion)
        calls = getattr(message, "tool_calls", None)
        answer = str(getattr(message, "content", "") or "") + (json.dumps(calls, default=str) if calls else "")
        return cls(estimate_tokens(sent_text) if sent_text else 0, estimate_tokens(answer) if answer else 0, estimated=True)

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens, self.estimated or other.estimated)

    def cost_usd(self, llm: LLMSettings) -> float | None:
        """From the model's per-million-token prices; None when no price is known for it."""
        price = llm.price()
        if price is None:
            return None
        return (self.prompt_tokens * price[0] + self.completion_tokens * price[1]) / 1e6


@dataclass(frozen=True)
class Reply(Generic[Answer]):
    answer: Answer
    usage: Usage


class ChatFailure(Exception):
    """No usable answer. `reason` is short, for counts and notes ("timeout", "error 503"); `usage`
    is what was paid for anyway (an answer that came back but was not the JSON asked for).
    `answered`: the server did answer, so the request was not free even where it reported no
    usage (the usage is then an estimate)."""

    reason = "error"
    answered = False

    def __init__(self, reason: str | None = None, usage: Usage = Usage(), status_code: int | None = None, detail: str = ""):
        super().__init__(reason or self.reason)
        self.reason = reason or self.reason
        self.usage = usage
        self.status_code = status_code
        self.detail = detail  # for an invalid answer: what was wrong, to send back once


class ChatTimeout(ChatFailure):
    reason = "timeout"


DEADLINE_REASON = "run deadline passed"  # a ChatTimeout's reason when the caller's deadline cut the wait


class ChatUnreachable(ChatFailure):
    reason = "unreachable"


class ChatRefused(ChatFailure):
    """Bad key, no permission, unknown model: every request would fail the same way."""

    reason = "refused"


class ChatInvalidAnswer(ChatFailure):
    """An answer came back, but not the JSON asked for (or cut short, or filtered)."""

    reason = "invalid answer"
    answered = True


class ChatError(ChatFailure):
    """An error status after the client's retries (`status_code`), or another client failure
    (`error_name`, the openai exception's class)."""

    def __init__(self, status_code: int | None = None, error_name: str = ""):
        super().__init__(f"error {status_code}" if status_code is not None else f"error ({error_name})", status_code=status_code)
        self.error_name = error_name


# How an endpoint configured by an API key alone (the openai client's own default) is named in
# messages, logs and the format memory; no address is written here, and none is ever dialled
# unless the user configured an LLM.
DEFAULT_ENDPOINT = "the OpenAI client's default endpoint"


def endpoint_name(llm: LLMSettings) -> str:
    """The endpoint as it may be shown or logged: credentials in the URL masked."""
    return mask_url(llm.base_url) or DEFAULT_ENDPOINT


def openai_function(model: type[BaseModel], description: str = "") -> dict:
    """`model` as an OpenAI function spec in strict form (all fields required, no extra keys)."""
    from langchain_core.utils.function_calling import convert_to_openai_function

    function = convert_to_openai_function(model, strict=True)
    if description:
        function["description"] = description
    return function


METHODS = ("json_schema", "function_calling", "json_mode")
# What servers say when they do not implement a response format: llama-cpp-python answers 500
# "Input should be 'text' or 'json_object'" to json_schema; others 400 "tools are not supported".
_FORMAT_REJECTED = re.compile(r"response_format|json_schema|json_object|tool|function|grammar|not supported|unsupported", re.IGNORECASE)
SCHEMA_INSTRUCTION = "Answer with one JSON object, and nothing else, that matches this JSON schema:\n"


class FormatRejected(ChatFailure):
    reason = "format rejected"


def estimate_tokens(text: str) -> int:
    """About four characters a token: what a run counts when the server reports no usage, and
    what it reserves against the cost ceiling before sending."""
    return max(1, -(-len(text) // 4))


def messages_text(messages: list) -> str:
    return "\n".join(str(getattr(m, "content", m)) for m in messages)


class FormatMemory:
    """Which structured-output method each (endpoint, model) accepted, in a small JSON file in
    the home, so a later run starts where the last one ended instead of being refused again."""

    def __init__(self, path: Path | None):
        self.path = path
        self._lock = threading.Lock()

    def _read(self) -> dict:
        if self.path is None:
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    @staticmethod
    def key(llm: LLMSettings) -> str:
        return f"{endpoint_name(llm)}|{llm.model}"

    def get(self, llm: LLMSettings) -> str | None:
        method = self._read().get(self.key(llm))
        return method if method in METHODS else None

    def put(self, llm: LLMSettings, method: str) -> None:
        if self.path is None:
            return
        from undertow.atomic import atomic_write_text

        with self._lock:
            data = self._read()
            if data.get(self.key(llm)) == method:
                return
            data[self.key(llm)] = method
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.path, json.dumps(data, indent=1, sort_keys=True))


class AuditLog:
    """What left the machine, one JSON line per request in the home: when, where, a digest of
    what was sent, the text itself (redacted as sent), tokens, cost and the outcome. The file is
    owner-only and each line is one append, so a crash leaves whole lines."""

    def __init__(self, path: Path | None):
        self.path = path
        self._lock = threading.Lock()

    def record(self, llm: LLMSettings, sent: str, *, method: str, usage: Usage, outcome: str, tag: str = "") -> None:
        if self.path is None:
            return
        entry = {
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "endpoint": endpoint_name(llm),
            "model": llm.model,
            "tag": tag,
            "method": method,
            "sha256": hashlib.sha256(sent.encode("utf-8")).hexdigest(),
            "sent": sent,
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "estimated_usage": usage.estimated,
            "cost_usd": usage.cost_usd(llm),
            "outcome": outcome,
        }
        line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)


class StructuredChat(Generic[Answer]):
    """Asks for an answer shaped as `model`; `ask` returns it validated, or raises a ChatFailure.

    The response format is negotiated: json_schema first, then function calling, then JSON mode
    with the schema in the prompt, moving on only when the server rejects the format itself; the
    method that worked is remembered per endpoint and model. An answer that does not validate is
    asked once more with the error (as instructor does) before the failure is raised."""

    def __init__(self, llm: LLMSettings, model: type[Answer], description: str = "", memory: FormatMemory | None = None,
                 audit: AuditLog | None = None):
        self.settings = llm
        self.model = model
        self.memory = memory or FormatMemory(None)
        self.audit = audit or AuditLog(None)
        self._function = openai_function(model, description)
        self._runnables: dict[str, object] = {}
        self._lock = threading.Lock()
        if llm.structured_output_method != "auto":
            self._methods: tuple[str, ...] = (llm.structured_output_method,)
        else:
            start = self.memory.get(llm) or METHODS[0]
            self._methods = METHODS[METHODS.index(start):]

    @property
    def method(self) -> str:
        """The method the next request uses."""
        return self._methods[0]

    def _runnable(self, method: str):
        with self._lock:
            if method not in self._runnables:
                self._runnables[method] = _structured_runnable(self.settings, self._function, method)
            return self._runnables[method]

    def ask(self, messages: list, tag: str = "", deadline: float | None = None,
            afford_again: Callable[[], bool] | None = None) -> Reply[Answer]:
        """Runs in any thread; retries (429, 5xx, timeouts, as the openai client would) are spent
        before a failure is raised. `deadline` (time.monotonic()) bounds the whole call: no
        request waits past it and no retry starts after it (ChatTimeout, DEADLINE_REASON).
        `afford_again` is asked before the one re-ask of an invalid answer, which is paid for
        like the first; False keeps the invalid answer as the outcome."""
        while True:
            method = self.method
            try:
                reply = self._ask_validated(messages, method, tag, deadline, afford_again)
            except FormatRejected:
                with self._lock:
                    if self._methods[0] == method and len(self._methods) > 1:
                        log.warning("%s rejected %s output; trying %s", endpoint_name(self.settings), method, self._methods[1])
                        self._methods = self._methods[1:]
                    elif self._methods[0] == method:
                        raise ChatError(error_name=f"no structured output method accepted ({', '.join(METHODS)})") from None
                continue
            if self.settings.structured_output_method == "auto":
                self.memory.put(self.settings, method)
            return reply

    def _ask_validated(self, messages: list, method: str, tag: str, deadline: float | None,
                       afford_again: Callable[[], bool] | None = None) -> Reply[Answer]:
        sent = _with_schema(messages, self._function) if method == "json_mode" else messages
        try:
            return self._ask_once(sent, method, tag, deadline)
        except ChatInvalidAnswer as invalid:
            if not invalid.detail or not sent or (afford_again is not None and not afford_again()):
                raise
            paid, detail = invalid.usage, invalid.detail
        log.debug("invalid answer, asking once more: %s", detail[:600])
        # One more try with the error, placed in the system message so the document stays last.
        correction = (
            f"\n\nA previous answer to this request was rejected: {detail[:600]}\n"
            "Answer again with exactly the JSON asked for."
        )
        retry = [_append_to(sent[0], correction), *sent[1:]]
        try:
            reply = self._ask_once(retry, method, tag, deadline)
        except ChatFailure as failure:
            failure.usage = failure.usage + paid
            raise
        return Reply(reply.answer, reply.usage + paid)

    def _ask_once(self, messages: list, method: str, tag: str, deadline: float | None) -> Reply[Answer]:
        if deadline is not None and deadline - time.monotonic() <= 0:
            raise ChatTimeout(DEADLINE_REASON)  # nothing sent, nothing to audit
        sent_text = messages_text(messages)
        usage = Usage()
        outcome = "answer"
        try:
            reply = self._call(messages, method, sent_text, deadline)
            usage = reply.usage
            return reply
        except ChatFailure as failure:
            usage, outcome = failure.usage, failure.reason
            raise
        finally:
            self.audit.record(self.settings, sent_text, method=method, usage=usage, outcome=outcome, tag=tag)

    def _call(self, messages: list, method: str, sent_text: str, deadline: float | None) -> Reply[Answer]:
        model_step, parser = self._runnable(method)
        try:
            raw = self._send(model_step, messages, deadline)
        except DeadlineCut:
            raise ChatTimeout(DEADLINE_REASON) from None
        except openai.APITimeoutError:
            raise ChatTimeout() from None
        except (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError) as error:
            raise ChatRefused(status_code=error.status_code) from None
        except openai.APIConnectionError:
            raise ChatUnreachable() from None
        except (openai.LengthFinishReasonError, openai.ContentFilterFinishReasonError) as error:
            # Cut short or filtered: no JSON to use, but the tokens were spent and count.
            raise ChatInvalidAnswer(usage=_completion_usage(getattr(error, "completion", None), sent_text)) from None
        except openai.APIStatusError as error:
            if error.status_code in (400, 422, 500, 501) and _FORMAT_REJECTED.search(f"{error.message} {error.body}"):
                raise FormatRejected(status_code=error.status_code) from None
            raise ChatError(status_code=error.status_code) from None
        except openai.OpenAIError as error:
            raise ChatError(error_name=type(error).__name__) from None
        except (ValueError, TypeError, AttributeError, KeyError) as error:
            # A 200 whose body is not a chat completion (a proxy's HTML page): this answer is
            # lost, the run goes on.
            log.debug("unreadable response body: %r", error)
            raise ChatInvalidAnswer("bad response body", usage=_unreported(sent_text)) from None
        if raw is None:
            raise ChatInvalidAnswer("bad response body", usage=_unreported(sent_text))
        usage = Usage.of(raw, sent_text)
        parsing_error: Exception | None = None
        try:
            parsed = parser.invoke(raw)
        except Exception as error:  # noqa: BLE001 - what include_raw=True would have caught
            parsed, parsing_error = None, error
        if parsing_error is not None or not isinstance(parsed, dict):
            raise ChatInvalidAnswer(usage=usage, detail=f"not valid JSON for the schema: {str(parsing_error or 'no JSON object')[:300]}")
        try:
            return Reply(self.model.model_validate(parsed), usage)
        except ValidationError as error:
            raise ChatInvalidAnswer(usage=usage, detail=_short_errors(error)) from None

    def _send(self, model_step, messages: list, deadline: float | None):
        """The model's raw AIMessage, retried here (extractor/retries.py) so that `deadline` cuts
        every wait. Called in the caller's thread: no executor thread can outlive the deadline."""
        return send_with_retries(model_step, messages, self.settings.max_retries + 1, self.settings.timeout_s, deadline)


def _unreported(sent_text: str) -> Usage:
    """A server that answered without usage (an HTML page, a cut answer) read the prompt at least."""
    return Usage(estimate_tokens(sent_text) if sent_text else 0, 0, estimated=True)


def _completion_usage(completion, sent_text: str) -> Usage:
    """The usage an openai ChatCompletion reports; estimated from the text when it reports none."""
    reported = getattr(completion, "usage", None)
    prompt = int(getattr(reported, "prompt_tokens", 0) or 0)
    answer = int(getattr(reported, "completion_tokens", 0) or 0)
    if prompt or answer:
        return Usage(prompt, answer)
    text = ""
    for choice in getattr(completion, "choices", None) or []:
        message = getattr(choice, "message", None)
        text += str(getattr(message, "content", "") or "")
        for call in getattr(message, "tool_calls", None) or []:
            text += str(getattr(getattr(call, "function", None), "arguments", "") or "")
    return Usage(estimate_tokens(sent_text) if sent_text else 0, estimate_tokens(text) if text else 0, estimated=True)


def _short_errors(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()[:8])


def _append_to(message, extra: str):
    return message.model_copy(update={"content": f"{message.content}{extra}"})


def _with_schema(messages: list, function: dict) -> list:
    """JSON mode knows no schema: it goes at the end of the system message."""
    schema = json.dumps(function["parameters"], ensure_ascii=False, separators=(",", ":"))
    return [_append_to(messages[0], "\n\n" + SCHEMA_INSTRUCTION + schema), *messages[1:]]


def _structured_runnable(llm: LLMSettings, function: dict, method: str):
    """(model step, parser) for `function` (an OpenAI function spec whose parameters are the
    answer's JSON schema): the model step returns the raw AIMessage, the parser its JSON. Kept
    apart, not joined by include_raw=True, whose RunnableParallel runs the HTTP call in an
    executor thread that the interpreter waits for at exit, and drops per-call options such as
    the request's timeout."""
    from langchain_core.runnables import RunnableSequence
    from langchain_openai import ChatOpenAI

    if not llm.configured:
        # The default path is offline: without a key or a base URL nothing may be dialled.
        raise ChatUnreachable()
    chat = ChatOpenAI(
        model=llm.model,
        # Local servers (Ollama, llama.cpp) take any key, but the client insists on one.
        api_key=llm.api_key.get_secret_value() if llm.api_key else "not-needed",
        base_url=llm.base_url,
        temperature=llm.temperature,
        timeout=llm.timeout_s,
        max_tokens=llm.max_answer_tokens,  # an answer's cost has a bound only if its length has one
        # Retries (429, 5xx, timeouts, honouring retry-after) are StructuredChat._send's, so that
        # none starts past a run's deadline.
        max_retries=0,
        # Chat completions is what every OpenAI-compatible server speaks.
        use_responses_api=False,
    )
    schema = function
    if method == "json_mode":
        chain = chat.with_structured_output(function["parameters"], method="json_mode")
    else:
        if method == "json_schema":
            # json_schema wants {name, schema, strict}; function calling wants {name, parameters}.
            schema = {"name": function["name"], "schema": function["parameters"], "strict": True}
            if function.get("description"):
                schema["description"] = function["description"]
        chain = chat.with_structured_output(schema, method=method, strict=True)
    # `chat.bound | refusal check | output parser`, a RunnableSequence.
    steps = chain.steps
    parser = steps[1] if len(steps) == 2 else RunnableSequence(*steps[1:])
    return steps[0], parser
