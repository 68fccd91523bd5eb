"""The text the classifier reads: invisible and control characters out, everything else verbatim.

Evidence quotes must be exact substrings of the cleaned text, so apart from NFC, cleaning only
removes characters; it never rewraps, trims or re-spaces text that had nothing removed from it.
"""

from __future__ import annotations

import re
import unicodedata

# Zero-width characters, the soft hyphen and other invisible format characters. Pasted from
# web pages and PDFs they sit inside words ("Mar\u200bia") and break matching and embeddings.
_ZERO_WIDTH = "\u00ad\u180e\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff"
# Bidi marks, embeddings, overrides and isolates: they reorder how text is shown, never what it says.
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# C0 and C1 controls except tab and newline (the line-break controls become newlines first).
_CONTROLS = "".join(chr(c) for c in [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)])

_INVISIBLE = f"[{re.escape(_ZERO_WIDTH + _BIDI + _CONTROLS)}]+"
# A removal inside a word leaves no gap ("leav\0ing" -> "leaving"); one between two spaces
# takes the spacing after it too, so no double space appears where the text had none.
_REMOVABLE = re.compile(f"(?<=[ \\t]){_INVISIBLE}[ \\t]*|{_INVISIBLE}")
# Vertical tab is Word's manual line break, form feed a page break, NEL a mainframe line end,
# and CR alone is old Mac line ends.
_LINE_BREAKS = re.compile("\r\n|[\r\x0b\x0c\x85]")
# Characters that render as blank but are letters or symbols, so clean_text keeps them;
# a text made only of these still has nothing to read.
_BLANK_LOOKING = "\u115f\u1160\u2800\u3164\uffa0"
_READABLE = re.compile(f"[^\\s{_BLANK_LOOKING}]")
# Most texts need neither substitution; the line-break controls are among _CONTROLS, so one
# scan for an invisible character tells.
_NEEDS_CLEANING = re.compile(_INVISIBLE)


def clean_text(text: str) -> str:
    """NFC text without zero-width, bidi or control characters; line ends become '\\n'."""
    if _NEEDS_CLEANING.search(text):
        text = _LINE_BREAKS.sub("\n", text)
        text = _REMOVABLE.sub("", text)
    return unicodedata.normalize("NFC", text)


def is_invisible_only(text: str) -> bool:
    """True when nothing would be left to read once whitespace and invisible characters go."""
    return has_nothing_to_read(clean_text(text))


def has_nothing_to_read(cleaned: str) -> bool:
    """is_invisible_only for text clean_text has already cleaned."""
    return _READABLE.search(cleaned) is None
