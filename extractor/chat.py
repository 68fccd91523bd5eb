"""The one way Undertow talks to an OpenAI-compatible chat endpoint with structured output."""

from __future__ import annotations

from undertow.settings import LLMSettings


def structured_chat(llm: LLMSettings, function: dict):
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
