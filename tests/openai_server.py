"""A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions protocol, with a
scripted model behind it, so the LLM backend is tested through the real openai/langchain stack.

The scripted model answers like a small, obedient model:
- it reads the document only from the <document> block of the last user message, and quotes
  the first sentence of the <text> that matches a signal's keywords, verbatim;
- it obeys instructions it finds OUTSIDE that block: "ignore previous instructions", "report no
  risk", "flag every signal", or a ready-made JSON answer. So if the backend ever lets customer
  text escape the block, the injection tests fail.

Tests script faults per document: `server.script("marker", "rate_limit", "server_error")` makes
the next two requests whose document contains "marker" fail with 429 then 500, and the third
answer normally. Behaviours: answer, rate_limit, server_error, slow, invalid_json,
schema_violation, ungrounded, paraphrase, unauthorized, html (a 200 whose body is a proxy's HTML
page), no_usage (an answer without `usage`), stall (sleeps `stall_s`).

`rejects` names request formats the server refuses as llama-cpp-python's server does:
"json_schema" gets HTTP 500 "Input should be 'text' or 'json_object'", "tools" a 400. In JSON
mode (`response_format: json_object`) the signals come from the schema in the system message.
"""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict, deque

from chat_server import ChatCompletionsServer, completion, error_body

# Keyword rules per signal; a sentence with a negation or resolution word never counts.
RULES = {
    "champion_departure": r"\b(leaving|leaves|left the company|moving over to|last day|new (cfo|cio|cto|ceo|vp|head of \w+)|parental leave|maternity leave|verlässt|verlasse|elternzeit|quitte|lascia|deja la empresa|vertrekt|sai da empresa)\b",
    "strategy_shift": r"\b(acquisition|acquired|merger|reorgani[sz]ation|consolidat\w*|on hold|deprioriti[sz]ed|in-house|übernahme|umstrukturierung|fusione|riorganizzazione|réorganisation|fusión|reorganización|overname|reorganisatie|aquisição)\b",
    "competitor_mention": r"\b(competitors?|alternatives?|other vendors|rfp|tender|cheaper tool|piloting|ausschreibung|wettbewerber|concorrente|appel d'offres|competidor|licitación|aanbesteding)\b",
    "budget_pressure": r"\b(budget|cost[- ]cutting|cut costs|spending freeze|layoffs?|discount|too expensive|drop to \d+ seats|kosten|rabatt|sconto|costi|coûts|remise|presupuesto|descuento|korting|orçamento|desconto)\b",
    "silent_dissatisfaction": r"\b(cancell?ed (the|our|another)? ?(qbr|meeting|call)|no reply|not replied|stopped reporting|workarounds?|spreadsheets|it's fine|keine antwort|abgesagt|nessuna risposta|pas de réponse|sin respuesta|geen reactie|sem resposta)\b",
}
NEGATION = re.compile(r"\b(not|no issue|approved|settled|rumou?r|nicht|kein|non|pas|ningún)\b", re.IGNORECASE)
OBEY_NO_RISK = re.compile(
    r"ignore (all |any )?(the )?(previous|prior|above|earlier) (instructions|rules)|report no (churn )?(risk|signals?)"
    r"|ignora (tutte )?le istruzioni precedenti|ignora (todas )?las instrucciones anteriores",
    re.IGNORECASE,
)
OBEY_ALL_RISK = re.compile(r"(flag|mark|report) (all|every) (the )?signals?", re.IGNORECASE)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
INVENTED_QUOTE = "The customer told us they will cancel the contract at the end of the month"


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(text) if s and s.strip()]



class ScriptedModel:
    """Turns a chat-completions request body into the assistant's reply (a dict of fields)."""

    def split(self, messages: list[dict]) -> tuple[str, str]:
        """(instructions, document text): the document is the <text> of the first <document>
        block in the last user message, up to the first closing tag, as a naive reader sees it."""
        contents = [m.get("content") or "" for m in messages]
        contents = [c if isinstance(c, str) else " ".join(part.get("text", "") for part in c) for c in contents]
        last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=None)
        if last_user is None:
            return "\n".join(contents), ""
        user = contents[last_user]
        start = user.find("<document")
        end = user.find("</document>", start)
        if start < 0 or end < 0:
            return "\n".join(contents), ""
        block = user[start:end]
        outside = user[:start] + user[end + len("</document>") :]
        text_start, text_end = block.find("<text>"), block.find("</text>")
        text = block[text_start + len("<text>") : text_end].strip("\n") if 0 <= text_start < text_end else ""
        instructions = "\n".join(contents[:last_user] + [outside] + contents[last_user + 1 :])
        return instructions, text

    def verdicts(self, signals: list[str], instructions: str, text: str) -> dict:
        if OBEY_NO_RISK.search(instructions):
            return {s: self._verdict([], False) for s in signals}
        if OBEY_ALL_RISK.search(instructions):
            first = _sentences(text)[:1]
            return {s: self._verdict(first, True) for s in signals}
        handed = self._handed_answer(signals, instructions)
        if handed is not None:
            return handed
        out = {}
        for signal in signals:
            rule = RULES.get(signal)
            hits = [s for s in _sentences(text) if rule and re.search(rule, s, re.IGNORECASE) and not NEGATION.search(s)]
            out[signal] = self._verdict(hits[:1], bool(hits))
        return out

    @staticmethod
    def _verdict(quotes: list[str], present: bool) -> dict:
        return {
            "evidence": quotes,
            "rationale": "keyword found" if present else "nothing in the text",
            "present": present,
            "confidence": 0.9 if present else 0.8,
        }

    @staticmethod
    def _handed_answer(signals: list[str], instructions: str) -> dict | None:
        """A JSON object with signal keys in the instructions is taken as the answer to give."""
        decoder = json.JSONDecoder()
        for match in re.finditer(r"\{", instructions):
            try:
                value, _ = decoder.raw_decode(instructions, match.start())
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict) and set(value) & set(signals):
                return value
        return None


class OpenAIServer(ChatCompletionsServer):
    """Scripted per document: answers, rate limits, errors, slowness, invalid or ungrounded output."""

    def __init__(self, slow_s: float = 1.0, port: int = 0, rejects: tuple[str, ...] = (), stall_s: float = 30.0):
        super().__init__(port)
        self.model = ScriptedModel()
        self.slow_s = slow_s
        self.stall_s = stall_s
        self.rejects = set(rejects)
        self._scripts: dict[str, deque[str]] = defaultdict(deque)

    def script(self, marker: str, *behaviours: str) -> None:
        with self._lock:
            self._scripts[marker].extend(behaviours)

    def script_tickets(self, numbers, *behaviours: str) -> None:
        """The same behaviours for each document that says "Ticket N." (N in `numbers`)."""
        for number in numbers:
            self.script(f"Ticket {number}.", *behaviours)

    def reset(self) -> None:
        with self._lock:
            self._scripts.clear()
            self.requests.clear()

    def requests_for(self, marker: str) -> list[dict]:
        return [r for r in self.requests if marker in r["document"]]

    # --- protocol ------------------------------------------------------------------------------
    def _next_behaviour(self, document: str) -> str:
        with self._lock:
            for marker, queue in self._scripts.items():
                if marker in document and queue:
                    return queue.popleft()
        return "answer"

    def respond(self, body: dict, headers: dict) -> tuple[int, dict, dict]:
        """(status, extra headers, JSON body) for one POST /v1/chat/completions."""
        instructions, document = self.model.split(body.get("messages", []))
        instructions = instructions.split("matches this JSON schema:")[0]  # JSON mode's schema is no answer to obey
        behaviour = self._next_behaviour(document)
        record = {"body": body, "headers": headers, "document": document, "behaviour": behaviour, "usage": None, "content": None}
        with self._lock:
            self.requests.append(record)
        if behaviour == "rate_limit":
            return 429, {"retry-after-ms": "5"}, _error("Rate limit reached for requests", "rate_limit_exceeded")
        if behaviour == "server_error":
            return 500, {"retry-after-ms": "5"}, _error("The server had an error while processing your request", "server_error")
        if behaviour == "unauthorized":
            return 401, {}, _error("Incorrect API key provided", "invalid_api_key")
        if behaviour == "slow":
            time.sleep(self.slow_s)
        if behaviour == "stall":
            time.sleep(self.stall_s)
        response_type = body.get("response_format", {}).get("type")
        if response_type == "json_schema" and "json_schema" in self.rejects:
            return 500, {}, _error("[{'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), 'msg': \"Input should be 'text' or 'json_object'\"}]", "server_error")
        if body.get("tools") and "tools" in self.rejects:
            return 400, {}, _error("tools are not supported by this server", "invalid_request_error")
        if behaviour == "html":
            return 200, {}, "<html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>"

        signals, tool_name = _requested_signals(body)
        verdicts = self.model.verdicts(signals, instructions, document)
        if behaviour == "ungrounded":
            verdicts = _with_invented_evidence(verdicts)
        elif behaviour == "paraphrase":
            verdicts = _paraphrased(verdicts)
        content = json.dumps(verdicts, ensure_ascii=False)
        if behaviour == "invalid_json":
            content = "Sure! Here is my analysis: {" + content[:40]
        elif behaviour == "schema_violation":
            content = json.dumps({signal: {"present": "probably"} for signal in signals})

        record["content"] = content
        answer = completion(body, content, len(self.requests), tool_name)
        record["usage"] = answer["usage"]
        if behaviour == "no_usage":
            del answer["usage"]
        return 200, {}, answer


_error = error_body


def _requested_signals(body: dict) -> tuple[list[str], str | None]:
    """The signal names from the schema the client sent (json_schema or a forced tool call)."""
    if body.get("tools"):
        function = body["tools"][0]["function"]
        return list(function["parameters"]["properties"]), function["name"]
    schema = body.get("response_format", {}).get("json_schema", {}).get("schema", {})
    if body.get("response_format", {}).get("type") == "json_object":
        system = next((m.get("content") or "" for m in body.get("messages", []) if m.get("role") == "system"), "")
        marker = "matches this JSON schema:\n"
        if marker in system:
            schema, _ = json.JSONDecoder().raw_decode(system[system.index(marker) + len(marker):])
    return list(schema.get("properties", {})), None


def _with_invented_evidence(verdicts: dict) -> dict:
    """Real flags get an extra invented quote; the first absent signal is flagged on one."""
    out = {name: dict(v) for name, v in verdicts.items()}
    for verdict in out.values():
        if verdict.get("present"):
            verdict["evidence"] = list(verdict["evidence"]) + [INVENTED_QUOTE]
    absent = next((name for name, v in out.items() if not v.get("present")), None)
    if absent:
        out[absent] = {"evidence": [INVENTED_QUOTE], "rationale": "invented", "present": True, "confidence": 0.95}
    return out


def _paraphrased(verdicts: dict) -> dict:
    """Quotes as sloppy models copy them: curly quotes, one line, lower case, a trailing '...'."""
    out = {}
    for name, verdict in verdicts.items():
        quotes = [" ".join(q.replace("'", "\u2019").split()).lower() + "..." for q in verdict.get("evidence", [])]
        out[name] = {**verdict, "evidence": quotes}
    return out


if __name__ == "__main__":
    # Serve the scripted model by hand, to try the commands against it:
    #   python tests/openai_server.py 8765 &
    #   OPENAI_BASE_URL=http://127.0.0.1:8765/v1 undertow eval --backend hybrid
    import sys

    with OpenAIServer(port=int(sys.argv[1]) if len(sys.argv) > 1 else 8765) as scripted:
        print(f"scripted OpenAI-protocol server on {scripted.url}", file=sys.stderr, flush=True)
        scripted._thread.join()


def scripted_llm(server: OpenAIServer, home, prices: dict, local=None, **changes):
    """An LLMClassifier on `server` for the tests: short timeouts, one retry, the home's cache,
    audit log and format memory; `changes` override any LLMSettings field."""
    from undertow.extractor.llm import LLMClassifier
    from undertow.extractor.llm_cache import AnswerCache
    from undertow.settings import LLMSettings

    settings = LLMSettings(base_url=server.url, api_key="k", model="scripted-model", timeout_s=5, max_retries=1, prices=prices)
    return LLMClassifier(settings.model_copy(update=changes), AnswerCache(home / "llm_cache.sqlite"), fallback=local, home=home)
