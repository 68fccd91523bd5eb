"""Language detection and sentence splitting with character offsets (evidence must be verbatim)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

LANGUAGES = ("en", "it", "de", "pt", "nl", "fr", "es")


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str


# A sentence ends at . ! ? (or their runs) followed by space and an upper-case/quote/digit start,
# or at a line break. Bullets and quoted-reply markers are separate lines in real notes.
_BOUNDARY = re.compile(r"(?<=[.!?…])[\"')\]]*\s+(?=[\"'(\[¿¡]?[A-ZÀ-ÖØ-Þ0-9])|\n+")
_ABBREVIATIONS = re.compile(
    r"(?:\b(?:e\.g|i\.e|etc|vs|approx|Mr|Mrs|Ms|Dr|Prof|Sr|Sra|Sig|Dott|Hr|Fr|bzw|z\.B|ca|Nr|no|p\.ex|ex|St)\.)$",
    re.IGNORECASE,
)
_MIN_SENTENCE_CHARS = 2
_MAX_SENTENCE_CHARS = 600


def split_sentences(text: str) -> list[Sentence]:
    """Split into sentences, keeping exact offsets into `text`."""
    sentences: list[Sentence] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        if match.group(0).strip() == "" and "\n" not in match.group(0) and _ABBREVIATIONS.search(text[start : match.start()]):
            continue
        _append(sentences, text, start, match.start())
        start = match.end()
    _append(sentences, text, start, len(text))
    return sentences


def _append(sentences: list[Sentence], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end - start < _MIN_SENTENCE_CHARS:
        return
    # Very long runs without punctuation (pasted logs) are cut so one vector never has to
    # summarise a whole page.
    while end - start > _MAX_SENTENCE_CHARS:
        cut = text.rfind(" ", start, start + _MAX_SENTENCE_CHARS)
        cut = cut if cut > start else start + _MAX_SENTENCE_CHARS
        sentences.append(Sentence(start, cut, text[start:cut]))
        start = cut + 1
    sentences.append(Sentence(start, end, text[start:end]))


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE)
    # Restricting the candidates stops short business notes being read as Latin or Tagalog.
    identifier.set_languages(list(LANGUAGES) + ["da", "sv", "no", "pl", "ca", "ro"])
    return identifier


def detect_language(text: str) -> str:
    """ISO 639-1 code of the text; '' when there is too little text to tell."""
    sample = text[:600]  # a paragraph tells the language; the whole thread only costs time
    if len(re.findall(r"\w+", sample)) < 2:
        return ""
    language, _ = _identifier().classify(sample)
    return language
