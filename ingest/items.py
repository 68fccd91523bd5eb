"""What a reader yields: a document, or a failure that names the file and line."""

from __future__ import annotations

from dataclasses import dataclass, field

from undertow.documents import Document
from undertow.errors import one_line


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
    # Read, but not exactly as written: an encoding guessed, a date that could be read two ways,
    # a text cut to the size limit. Shown to the user; the document is stored.
    warnings: list[str] = field(default_factory=list)

    def warning_lines(self) -> list[str]:
        return [f"{self.origin}: {warning}" for warning in self.warnings]


# A text longer than this is a pasted log or a whole mailbox in one cell, not a note.
DEFAULT_MAX_DOCUMENT_CHARS = 100_000


@dataclass
class ReadOptions:
    defaults: dict = field(default_factory=dict)  # e.g. {"account_id": ...} from --account
    column_map: dict[str, str] = field(default_factory=dict)
    own_domains: set[str] = field(default_factory=set)
    dayfirst: bool | None = None  # None: day first, with a warning when a date could be read both ways
    date_format: str | None = None  # an explicit strptime format wins over guessing
    max_chars: int = DEFAULT_MAX_DOCUMENT_CHARS


@dataclass
class SkippedFile:
    """A file in a folder that is not an export (an image, a spreadsheet): named, not an error."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


ReadItem = ReadDocument | ReadFailure | SkippedFile


# What every reader puts in a ReadFailure for a field it could not read.
validation_reason = one_line
