"""`.txt` and `.md` notes, with optional YAML front matter (account_id, date, source, author)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import yaml
from pydantic import ValidationError

from undertow.documents import Document
from undertow.ingest.items import ReadDocument, ReadFailure, ReadItem, validation_reason


def split_front_matter(text: str) -> tuple[dict, str, int]:
    """(front matter, body, line number where the body starts)."""
    if not text.startswith("---"):
        return {}, text, 1
    end = text.find("\n---", 3)
    if end < 0:
        raise ValueError("front matter starts with '---' but never closes")
    meta = yaml.safe_load(text[3:end]) or {}
    if not isinstance(meta, dict):
        raise ValueError("front matter is not a mapping of key: value")
    body_start = text.find("\n", end + 4)
    body = text[body_start + 1 :] if body_start >= 0 else ""
    return meta, body, text[: body_start + 1].count("\n") + 1


def read_note(path: Path, defaults: dict, root: Path) -> Iterator[ReadItem]:
    try:
        meta, body, _ = split_front_matter(path.read_text(encoding="utf-8", errors="replace"))
    except (ValueError, yaml.YAMLError) as error:
        yield ReadFailure(str(path), 1, f"front matter: {str(error).splitlines()[0]}")
        return
    relative = path.relative_to(root) if path.is_relative_to(root) else Path(path.name)
    fields = {"source": "note", **defaults, **{k: v for k, v in meta.items() if v is not None}}
    fields.setdefault("id", str(relative.with_suffix("")).replace("/", ":"))
    fields["text"] = body.strip()
    if "account_id" not in fields:
        yield ReadFailure(str(path), 1, "no account_id: add it to the front matter or pass --account")
        return
    try:
        yield ReadDocument(Document.model_validate(fields), str(path))
    except (ValidationError, ValueError) as error:
        yield ReadFailure(str(path), 1, validation_reason(error))
