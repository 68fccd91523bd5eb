"""Find a model's evidence quote in the document, so only verbatim text reaches a CSM.

Models copy passages imperfectly: straight quotes become curly ones, line breaks become spaces,
a capital is lowered, "..." joins two fragments. A quote still counts when it matches after that
normalisation, and the evidence returned is always the exact slice of the original text.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, field

from undertow.extractor.results import Evidence

# Shortest quote worth showing: "no" or "ok" are found in almost any text and prove nothing,
# and a name or a greeting ("Hi Anna,") names no signal. A fragment joined by "..." may be
# shorter; the quote as a whole is a clause.
MIN_QUOTE_CHARS = 4
MIN_QUOTE_WORDS = 4
_WORD = re.compile(r"\w+")


def is_quotable(text: str) -> bool:
    """Whether `text` is long enough to be shown as the evidence for a signal."""
    return len(_WORD.findall(text)) >= MIN_QUOTE_WORDS

_CHARACTER_FOLDS = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'", "\u00b4": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
        "\u2039": "'", "\u203a": "'",
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
    }
)  # fmt: skip
_ELLIPSIS = re.compile(r"\s*(?:\[\.\.\.\]|\(\.\.\.\)|\.\.\.|\u2026)\s*")
_WRAPPING = "\"'\u2018\u2019\u201c\u201d\u201e\u00ab\u00bb "
# Dropped from the end of a fragment: models end a copied clause with a full stop the text lacks.
_TRAILING = ".,;:!? "


@dataclass
class Grounded:
    """The quotes that were found (as Evidence) and the ones that were not."""

    evidence: list[Evidence] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


class NormalisedText:
    """A text folded for matching, with a map from each folded character back to the original."""

    def __init__(self, text: str):
        self.text = text
        chars: list[str] = []
        origin: list[int] = []
        previous_space = True  # drops leading whitespace
        for index, char in enumerate(text):
            if char.isspace():
                if previous_space:
                    continue
                chars.append(" ")
                origin.append(index)
                previous_space = True
                continue
            for folded in _fold(char):
                chars.append(folded)
                origin.append(index)
            previous_space = False
        self.folded = "".join(chars)
        self.origin = origin

    def find(self, quote: str, start: int = 0) -> tuple[int, int] | None:
        """Offsets in the original text of the first match of `quote` at or after `start`."""
        needle = normalise(quote)
        if not needle:
            return None
        at = self.folded.find(needle, bisect_left(self.origin, start))
        if at < 0:
            return None
        last = at + len(needle) - 1
        return self.origin[at], self.origin[last] + 1


def _fold(char: str) -> str:
    return char.translate(_CHARACTER_FOLDS).casefold()


def normalise(text: str) -> str:
    """What matching compares: folded quote characters and dashes, case, single spaces."""
    return " ".join("".join(_fold(c) for c in word) for word in text.split())


def _long_enough(quote: str) -> bool:
    return sum(c.isalnum() for c in quote) >= MIN_QUOTE_CHARS


def locate(quote: str, text: str, normalised: NormalisedText | None = None) -> list[Evidence]:
    """The evidence spans for one quote, or [] when it is not in the text.

    A quote that joins fragments with '...' is found fragment by fragment, in order; every
    fragment must be present, so a model cannot stitch an invented sentence from real words.
    """
    whole = quote.strip().strip(_WRAPPING)
    if not _long_enough(whole):
        return []
    at = text.find(whole)
    if at >= 0:
        return [Evidence(quote=whole, start=at, end=at + len(whole))]
    normalised = normalised or NormalisedText(text)
    found = normalised.find(whole)
    if found is not None:
        return [_evidence(text, *found)]
    fragments = [part.strip(_WRAPPING).rstrip(_TRAILING) for part in _ELLIPSIS.split(whole)]
    fragments = [part for part in fragments if part]
    if not fragments or any(not _long_enough(part) for part in fragments):
        return []
    spans: list[Evidence] = []
    cursor = 0
    for part in fragments:
        found = normalised.find(part, cursor)
        if found is None:
            return []
        spans.append(_evidence(text, *found))
        cursor = found[1]
    return spans


def _evidence(text: str, start: int, end: int) -> Evidence:
    return Evidence(quote=text[start:end], start=start, end=end)


def ground_quotes(quotes: list[str], text: str) -> Grounded:
    """Every quote of a clause's length located in `text`; overlapping or repeated spans are kept
    once, in text order. Shorter quotes count as missing."""
    normalised = NormalisedText(text)
    result = Grounded()
    spans: dict[tuple[int, int], Evidence] = {}
    for quote in quotes:
        # A name or a greeting may well be in the text and still prove no signal.
        found = locate(quote, text, normalised) if is_quotable(_ELLIPSIS.sub(" ", quote)) else []
        if not found:
            result.missing.append(quote)
        for evidence in found:
            spans.setdefault((evidence.start, evidence.end), evidence)
    kept: list[Evidence] = []
    for evidence in sorted(spans.values(), key=lambda e: (e.start, -e.end)):
        if kept and evidence.end <= kept[-1].end:
            continue  # inside a span already kept
        kept.append(evidence)
    result.evidence = kept
    return result
