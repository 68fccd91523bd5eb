"""The HTTP side of a scripted OpenAI-compatible server on 127.0.0.1: subclasses script the model."""

from __future__ import annotations

import json
import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def count_tokens(text: str) -> int:
    """A rough count, about four characters a token, enough for usage and cost tests."""
    return max(1, math.ceil(len(text) / 4))


def error_body(message: str, code: str) -> dict:
    return {"error": {"message": message, "type": code, "param": None, "code": code}}


def completion(body: dict, content: str, request_number: int, tool_name: str | None = None) -> dict:
    """A chat.completion answering with `content`, as a tool call when the request used tools."""
    usage = {"prompt_tokens": count_tokens(json.dumps(body.get("messages", []), ensure_ascii=False)), "completion_tokens": count_tokens(content)}
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    message: dict = {"role": "assistant", "content": content, "refusal": None}
    finish = "stop"
    if tool_name:
        message = {"role": "assistant", "content": None, "tool_calls": [{"id": "call_0", "type": "function", "function": {"name": tool_name, "arguments": content}}]}
        finish = "tool_calls"
    return {
        "id": f"chatcmpl-{request_number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "scripted"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": usage,
    }


class ChatCompletionsServer:
    """ThreadingHTTPServer on port 0 (or a given one), served from a daemon thread; a context manager.
    Subclasses implement `respond(body, headers) -> (status, extra headers, JSON body)`."""

    def __init__(self, port: int = 0):
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_port}/v1"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def respond(self, body: dict, headers: dict) -> tuple[int, dict, dict]:
        raise NotImplementedError

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - the stdlib's name
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.rstrip("/") != "/v1/chat/completions":
                    return self._send(404, {}, error_body(f"unknown path {self.path}", "not_found"))
                self._send(*server.respond(body, {k.lower(): v for k, v in self.headers.items()}))

            def _send(self, status: int, headers: dict, payload: dict | str) -> None:
                # A str payload goes out as it is, as HTML: a proxy's error page.
                data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "text/html" if isinstance(payload, str) else "application/json")
                    self.send_header("content-length", str(len(data)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test); nothing to tell it

            def log_message(self, *args) -> None:
                pass

        return Handler
