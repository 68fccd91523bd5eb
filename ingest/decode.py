"""Bytes to text for ingestion: UTF-8 silently, other encodings guessed and said so, binary refused.

Nothing here ever yields U+FFFD: a file that does not decode cleanly is rejected with a
one-line reason rather than stored with holes in the customer's words.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

import charset_normalizer

from undertow.ingest.clean import is_invisible_only

# Like git and file(1), only the head of a file is sniffed for binary content.
_SNIFF_BYTES = 8192
# Above this share of control characters the "text" is a binary format that happened to decode.
_MAX_CONTROL_SHARE = 0.05

_BOMS: tuple[tuple[bytes, str], ...] = (
    # UTF-32 first: its little-endian BOM starts with the UTF-16 one.
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

_MAGIC_NUMBERS: tuple[tuple[bytes, str], ...] = (
    (b"\x7fELF", "ELF executable"),
    (b"PK\x03\x04", "ZIP archive"),
    (b"PK\x05\x06", "ZIP archive"),
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"\x1f\x8b", "gzip archive"),
    (b"%PDF-", "PDF document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "old Office document (.doc, .xls)"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"Rar!\x1a\x07", "RAR archive"),
    (b"SQLite format 3\x00", "SQLite database"),
)

# Text in a Latin script, written as UTF-16 without a BOM, has a NUL in nearly every code unit;
# scattered NULs in a binary file do not line up like that.
_UTF16_HIGH_NUL_SHARE = 0.7

# Tab, newline, vertical tab, form feed and carriage return are layout, not binary noise.
_CONTROLS = frozenset(chr(c) for c in [*range(0x00, 0x09), *range(0x0E, 0x20), *range(0x7F, 0xA0)])


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    guessed: bool = False
    warning: str | None = None


class RejectedInput(Exception):
    """A file with no text to ingest; the message is one line saying what it is instead."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def read_text_file(path: Path) -> Decoded:
    """Like decode_bytes; an OSError is left to the caller, which reports unreadable files."""
    return decode_bytes(path.read_bytes(), str(path))


def decode_bytes(data: bytes, path: str) -> Decoded:
    """The text in `data`; raises RejectedInput for empty, binary or undecodable input."""
    if not data:
        raise RejectedInput("empty file")
    decoded = _decode_with_bom(data) or _decode_without_bom(data, path)
    _reject_unreadable(decoded.text)
    return decoded


def _decode_with_bom(data: bytes) -> Decoded | None:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _decode_strictly(data, encoding, guessed=False)
    return None


def _decode_without_bom(data: bytes, path: str) -> Decoded:
    kind = _binary_format(data, path)
    if kind:
        raise RejectedInput(f"binary file ({kind})")
    if b"\x00" in data[:_SNIFF_BYTES]:
        # NUL bytes only belong in text as half of a UTF-16 code unit.
        encoding = _bomless_utf16(data)
        if encoding is None:
            raise RejectedInput("binary file (contains NUL bytes)")
        return _decode_strictly(data, encoding, guessed=True)
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        return _decode_strictly(data, _guess_encoding(data), guessed=True)


def _binary_format(data: bytes, path: str) -> str | None:
    for magic, kind in _MAGIC_NUMBERS:
        if data.startswith(magic):
            if kind == "ZIP archive" and path.lower().endswith(".docx"):
                return "Word .docx document; read it as .docx, not as text"
            return kind
    return None


def _bomless_utf16(data: bytes) -> str | None:
    """utf-16-le/-be when the NULs fall in the high byte of most code units, as in Latin text."""
    sample = data[:_SNIFF_BYTES]
    if len(sample) % 2:
        return None
    even, odd = sample[0::2], sample[1::2]
    for high, low, encoding in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if high.count(0) >= _UTF16_HIGH_NUL_SHARE * len(high) and low.count(0) == 0:
            return encoding
    return None


_COHERENCE_MARGIN = 0.05


def _guess_encoding(data: bytes) -> str:
    results = charset_normalizer.from_bytes(data)
    best = results.best()
    if best is None:
        raise RejectedInput("binary file (no text encoding fits its bytes)")
    # On short Western European text several single-byte code pages decode almost equally well
    # and charset-normalizer's order among them is close to arbitrary (cp1250 reads "naïve" as
    # "naďve", cp775 "gelé" as "gelķ"). Undertow's customers write the seven Western European
    # languages and Windows exports are cp1252 far more often, so a near tie goes to it.
    for match in results:
        near_tie = match.chaos <= best.chaos + 0.01 and match.coherence >= best.coherence - _COHERENCE_MARGIN
        if near_tie and "cp1252" in match.could_be_from_charset:
            return "cp1252"
    return best.encoding


def _decode_strictly(data: bytes, encoding: str, guessed: bool) -> Decoded:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        raise RejectedInput(f"not valid {encoding} at byte {error.start}: {error.reason}") from None
    if "\ufffd" in text and guessed:
        # A guessed encoding that needs the replacement character is a wrong guess.
        raise RejectedInput(f"cannot decode: read as {encoding} it has unreadable characters")
    warning = f"not UTF-8; read as {encoding} (guessed)" if guessed else None
    return Decoded(text, encoding, guessed, warning)


def _reject_unreadable(text: str) -> None:
    sample = text[:_SNIFF_BYTES]
    share = sum(char in _CONTROLS for char in sample) / max(len(sample), 1)
    if share > _MAX_CONTROL_SHARE:
        raise RejectedInput(f"binary file ({share:.0%} control characters)")
    if is_invisible_only(text):
        raise RejectedInput("no readable text (only whitespace or invisible characters)")
