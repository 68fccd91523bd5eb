"""Language detection and sentence splitting with character offsets (evidence must be verbatim)."""

from __future__ import annotations

import re
from functools import lru_cache

from undertow.segment import Sentence
from undertow.segment import split_sentences as segment_sentences

__all__ = ["LANGUAGES", "Sentence", "detect_language", "split_sentences"]

LANGUAGES = ("en", "it", "de", "pt", "nl", "fr", "es")


def split_sentences(text: str, language: str | None = None) -> list[Sentence]:
    """Sentences with exact offsets into `text`, split the way `language` writes (detected when not given)."""
    return segment_sentences(text, language or detect_language(text) or "en")


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
