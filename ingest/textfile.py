"""Open a text export as a stream, whatever its encoding, and refuse what is not text.

Exports are read as they are streamed, so a 50 MB file never sits in memory twice; the encoding
is settled first (UTF-8 checked over the whole file, anything else guessed from its start and
named in a warning), because a wrong guess silently turns every accent into U+FFFD.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from undertow.ingest.decode import RejectedInput, decode_bytes

_SAMPLE_BYTES = 64 * 1024
_CHUNK_BYTES = 1 << 20


@dataclass
class TextSource:
    stream: TextIO
    encoding: str
    warning: str | None


def open_text(path: Path) -> TextSource:
    """A text stream over `path`. Raises RejectedInput for empty, binary or undecodable files."""
    with open(path, "rb") as handle:
        head = handle.read(_SAMPLE_BYTES)
    if not head:
        raise RejectedInput("empty file")
    sample = head if len(head) < _SAMPLE_BYTES else head[: head.rfind(b"\n") + 1 or len(head)]
    decoded = decode_bytes(sample, str(path))  # refuses binary and invisible-only text
    if decoded.encoding.replace("_", "-").lower() in ("utf-8", "utf-8-sig", "ascii") and not _is_utf8(path):
        decoded = decode_bytes(path.read_bytes(), str(path))
    encoding = "utf-8-sig" if decoded.encoding.replace("_", "-").lower() in ("utf-8", "ascii") else decoded.encoding
    stream = open(path, encoding=encoding, errors="strict", newline="")
    return TextSource(stream, encoding, decoded.warning)


def _is_utf8(path: Path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as handle:
        try:
            while chunk := handle.read(_CHUNK_BYTES):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def read_text(path: Path, max_chars: int) -> tuple[str, str | None]:
    """The whole text of a small file (a note), read no further than a little past `max_chars`."""
    source = open_text(path)
    with source.stream as stream:
        text = stream.read(max_chars + 1)
    return text.replace("\r\n", "\n"), source.warning


__all__ = ["RejectedInput", "TextSource", "open_text", "read_text"]
