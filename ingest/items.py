"""What a reader yields: a document, or a failure that names the file and line."""

from __future__ import annotations

from dataclasses import dataclass, field

from undertow.documents import Document


@dataclass
class ReadFailure:
    path: str
    line: int | None
    reason: str
    raw: str = ""

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.reason}"


@dataclass
class ReadDocument:
    document: Document
    origin: str = field(default="")


ReadItem = ReadDocument | ReadFailure


def validation_reason(error: Exception) -> str:
    """The first problem of a pydantic error, in one line."""
    errors = getattr(error, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{where}: {first['msg']}" if where else first["msg"]
    return str(error).splitlines()[0]
