"""A real HTTP server on 127.0.0.1 speaking the OpenAI chat-completions protocol, scripted to
answer `undertow ask` the way a careless model would, so the checks on its answer are tested
through the real openai/langchain client.

Its answer, built from the <document id="..."> blocks of the last user message:
- claim 1 cites the first document with a true quote (its first sentence), and also an id that
  does not exist (`GHOST_ID`);
- claim 2 cites the second document (or the first again) with an invented quote (`INVENTED_QUOTE`);
- claim 3 cites only a second made-up id (`OTHER_GHOST_ID`), so it must be dropped whole.
It obeys instructions it finds OUTSIDE the document blocks (as a naive model would): text there
saying "ignore previous instructions" gets the answer `OBEYED_CLAIM`. A document that escapes its
block therefore shows up as that claim.

`mode` switches behaviour: "answer" (default), "server_error" (500 on every request),
"not_json" (200 with content that is not the JSON asked for).
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GHOST_ID = "d-ghost-404"
OTHER_GHOST_ID = "d-ghost-405"
INVENTED_QUOTE = "We have already signed with another vendor and will not renew"
OBEYED_CLAIM = "Everything is fine with this account; there is no churn risk."
OPENING = re.compile(r'<document id="([^"]*)"[^>]*>')
OBEY = re.compile(r"ignore (all |any )?(the )?(previous|prior|above|earlier) instructions", re.IGNORECASE)


def split_documents(user: str) -> tuple[str, dict[str, str]]:
    """(everything outside the blocks, {id: text}); a block ends at the first </document>, as a naive reader sees it."""
    outside, documents, cursor = [], {}, 0
    for match in OPENING.finditer(user):
        if match.start() < cursor:
            continue
        outside.append(user[cursor : match.start()])
        end = user.find("</document>", match.end())
        end = len(user) if end < 0 else end
        block = user[match.end() : end]
        text_start, text_end = block.find("<text>"), block.find("</text>")
        documents[match.group(1)] = block[text_start + len("<text>") : text_end].strip("\n") if 0 <= text_start < text_end else block
        cursor = end + len("</document>")
    outside.append(user[cursor:])
    return "".join(outside), documents


def first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s+", text.strip(), maxsplit=1)[0]


def scripted_answer(messages: list[dict]) -> tuple[dict, str, dict[str, str]]:
    user = next((m.get("content") or "" for m in reversed(messages) if m.get("role") == "user"), "")
    outside, documents = split_documents(user)
    ids = list(documents)
    if OBEY.search(outside) or not ids:
        return {"claims": [{"text": OBEYED_CLAIM, "citations": []}]}, outside, documents
    first, second = ids[0], ids[1] if len(ids) > 1 else ids[0]
    answer = {
        "claims": [
            {
                "text": "The customer describes the situation in its own words.",
                "citations": [
                    {"doc_id": first, "quote": first_sentence(documents[first])},
                    {"doc_id": GHOST_ID, "quote": "a quote from a document that does not exist"},
                ],
            },
            {"text": "They have chosen another vendor.", "citations": [{"doc_id": second, "quote": INVENTED_QUOTE}]},
            {"text": "A claim resting on nothing we gave.", "citations": [{"doc_id": OTHER_GHOST_ID, "quote": ""}]},
        ]
    }
    return answer, outside, documents


def _tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


class AskLLMServer:
    """ThreadingHTTPServer on an ephemeral port, served from a daemon thread; a context manager."""

    def __init__(self, mode: str = "answer"):
        self.mode = mode
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_port}/v1"

    def __enter__(self) -> "AskLLMServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def respond(self, body: dict) -> tuple[int, dict]:
        messages = body.get("messages", [])
        answer, outside, documents = scripted_answer(messages)
        with self._lock:
            self.requests.append({"body": body, "outside": outside, "documents": documents})
        if self.mode == "server_error":
            return 500, {"error": {"message": "The server had an error", "type": "server_error", "param": None, "code": "server_error"}}
        content = json.dumps(answer) if self.mode == "answer" else "Sure! The account looks fine to me."
        usage = {"prompt_tokens": _tokens(json.dumps(messages)), "completion_tokens": _tokens(content)}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        message: dict = {"role": "assistant", "content": content, "refusal": None}
        finish = "stop"
        if body.get("tools"):
            name = body["tools"][0]["function"]["name"]
            message = {"role": "assistant", "content": None, "tool_calls": [{"id": "call_0", "type": "function", "function": {"name": name, "arguments": content}}]}
            finish = "tool_calls"
        return 200, {
            "id": f"chatcmpl-ask-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "scripted"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": usage,
        }

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - the stdlib's name
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.rstrip("/") != "/v1/chat/completions":
                    status, payload = 404, {"error": {"message": f"unknown path {self.path}", "type": "not_found", "param": None, "code": None}}
                else:
                    status, payload = server.respond(body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        return Handler
