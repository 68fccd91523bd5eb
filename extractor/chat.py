"""The one way Undertow talks to an OpenAI-compatible chat endpoint: structured output into a
pydantic model, the same typed failures for every caller, and what each answer cost.

Callers (the `llm` classifier, the `ask` narrative) word the failures for their own readers; what
counts as a timeout, a refusal or an invalid answer is decided here only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

import openai
from pydantic import BaseModel, ValidationError

from undertow.masking import mask_url
from undertow.settings import LLMSettings

Answer = TypeVar("Answer", bound=BaseModel)


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @classmethod
    def of(cls, message) -> "Usage":
        """The tokens a langchain AIMessage reports; zero when the server sent no `usage`."""
        usage = getattr(message, "usage_metadata", None) or {}
        return cls(int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0)))

    def cost_usd(self, llm: LLMSettings) -> float:
        """The estimate from the per-million-token prices in the settings."""
        return (self.prompt_tokens * llm.input_cost_per_mtok + self.completion_tokens * llm.output_cost_per_mtok) / 1e6


@dataclass(frozen=True)
class Reply(Generic[Answer]):
    answer: Answer
    usage: Usage


class ChatFailure(Exception):
    """No usable answer. `reason` is short, for counts and notes ("timeout", "error 503"); `usage`
    is what was paid for anyway (an answer that came back but was not the JSON asked for)."""

    reason = "error"

    def __init__(self, reason: str | None = None, usage: Usage = Usage(), status_code: int | None = None):
        super().__init__(reason or self.reason)
        self.reason = reason or self.reason
        self.usage = usage
        self.status_code = status_code


class ChatTimeout(ChatFailure):
    reason = "timeout"


class ChatUnreachable(ChatFailure):
    reason = "unreachable"


class ChatRefused(ChatFailure):
    """Bad key, no permission, unknown model: every request would fail the same way."""

    reason = "refused"


class ChatInvalidAnswer(ChatFailure):
    """An answer came back, but not the JSON asked for (or cut short, or filtered)."""

    reason = "invalid answer"


class ChatError(ChatFailure):
    """An error status after the client's retries (`status_code`), or another client failure
    (`error_name`, the openai exception's class)."""

    def __init__(self, status_code: int | None = None, error_name: str = ""):
        super().__init__(f"error {status_code}" if status_code is not None else f"error ({error_name})", status_code=status_code)
        self.error_name = error_name


def endpoint_name(llm: LLMSettings) -> str:
    """The endpoint as it may be shown or logged: credentials in the URL masked."""
    return mask_url(llm.base_url) or "api.openai.com"


def openai_function(model: type[BaseModel], description: str = "") -> dict:
    """`model` as an OpenAI function spec in strict form (all fields required, no extra keys)."""
    from langchain_core.utils.function_calling import convert_to_openai_function

    function = convert_to_openai_function(model, strict=True)
    if description:
        function["description"] = description
    return function


class StructuredChat(Generic[Answer]):
    """Asks for an answer shaped as `model`; `ask` returns it validated, or raises a ChatFailure."""

    def __init__(self, llm: LLMSettings, model: type[Answer], description: str = ""):
        self.settings = llm
        self.model = model
        self._runnable = _structured_runnable(llm, openai_function(model, description))

    def ask(self, messages: list) -> Reply[Answer]:
        """Runs in any thread; the client's own retries (429, 5xx, timeouts) are spent before a
        failure is raised."""
        try:
            out = self._runnable.invoke(messages)
        except openai.APITimeoutError:
            raise ChatTimeout() from None
        except (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError) as error:
            raise ChatRefused(status_code=error.status_code) from None
        except openai.APIConnectionError:
            raise ChatUnreachable() from None
        except (openai.LengthFinishReasonError, openai.ContentFilterFinishReasonError):
            raise ChatInvalidAnswer() from None
        except openai.APIStatusError as error:
            raise ChatError(status_code=error.status_code) from None
        except openai.OpenAIError as error:
            raise ChatError(error_name=type(error).__name__) from None
        usage = Usage.of(out["raw"])
        parsed = out.get("parsed")
        if out.get("parsing_error") is not None or not isinstance(parsed, dict):
            raise ChatInvalidAnswer(usage=usage)
        try:
            return Reply(self.model.model_validate(parsed), usage)
        except ValidationError:
            raise ChatInvalidAnswer(usage=usage) from None


def _structured_runnable(llm: LLMSettings, function: dict):
    """A langchain runnable that returns {"raw", "parsed", "parsing_error"} for `function`
    (an OpenAI function spec whose parameters are the answer's JSON schema)."""
    from langchain_openai import ChatOpenAI

    chat = ChatOpenAI(
        model=llm.model,
        # Local servers (Ollama, llama.cpp) take any key, but the client insists on one.
        api_key=llm.api_key.get_secret_value() if llm.api_key else "not-needed",
        base_url=llm.base_url,
        temperature=llm.temperature,
        timeout=llm.timeout_s,
        # The openai client retries 429, 5xx and timeouts with exponential backoff and jitter,
        # honouring the server's retry-after.
        max_retries=llm.max_retries,
        # Chat completions is what every OpenAI-compatible server speaks.
        use_responses_api=False,
    )
    schema = function
    if llm.structured_output_method == "json_schema":
        # json_schema wants {name, schema, strict}; function calling wants {name, parameters}.
        schema = {"name": function["name"], "schema": function["parameters"], "strict": True}
        if function.get("description"):
            schema["description"] = function["description"]
    return chat.with_structured_output(schema, method=llm.structured_output_method, include_raw=True, strict=True)
