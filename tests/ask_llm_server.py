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
import re
from chat_server import ChatCompletionsServer, completion, error_body

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


class AskLLMServer(ChatCompletionsServer):
    """Scripted to cite real and invented document ids and to invent one quote."""

    def __init__(self, mode: str = "answer"):
        super().__init__()
        self.mode = mode

    def respond(self, body: dict, headers: dict) -> tuple[int, dict, dict]:
        messages = body.get("messages", [])
        answer, outside, documents = scripted_answer(messages)
        with self._lock:
            self.requests.append({"body": body, "outside": outside, "documents": documents})
        if self.mode == "server_error":
            return 500, {}, error_body("The server had an error", "server_error")
        content = json.dumps(answer) if self.mode == "answer" else "Sure! The account looks fine to me."
        tool_name = body["tools"][0]["function"]["name"] if body.get("tools") else None
        return 200, {}, completion(body, content, len(self.requests), tool_name)
