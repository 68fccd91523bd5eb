"""Grounding: a model's quote counts only when it is in the document, and the evidence returned is
always the exact slice of the original text."""

from __future__ import annotations

import random
import re

import pytest

from undertow.eval.datasets import bundled_path, load_documents
from undertow.extractor.grounding import ground_quotes, locate, normalise

TEXT = (
    "Call with Dana (Head of Ops), 30 min.\n"
    "She said: \"we're  moving the\nreporting to the group's BI suite\" next quarter.\n"
    "Budget for the Straße project is frozen \u2013 nothing new before June."
)


def _verbatim(evidence, text: str = TEXT) -> bool:
    return all(text[e.start : e.end] == e.quote for e in evidence)


def test_an_exact_quote_keeps_its_offsets():
    [evidence] = locate("Head of Ops", TEXT)
    assert (evidence.start, evidence.end) == (TEXT.index("Head of Ops"), TEXT.index("Head of Ops") + len("Head of Ops"))


@pytest.mark.parametrize(
    "quote",
    [
        "we\u2019re moving the reporting to the group\u2019s BI suite",  # curly apostrophes, one line
        "WE'RE MOVING THE REPORTING",  # case
        "\u201cwe're moving the reporting to the group's BI suite\u201d",  # wrapped in quotation marks
        "nothing new before June...",  # a trailing ellipsis
        "is frozen - nothing new",  # a plain hyphen for the text's en dash
        "Budget for the Strasse project",  # ß folded
        "  Budget for the Straße project is frozen.  ",  # a full stop the text does not have there
    ],
)
def test_a_sloppy_copy_maps_back_to_the_verbatim_text(quote):
    evidence = locate(quote, TEXT)
    assert evidence, quote
    assert _verbatim(evidence)
    assert normalise(evidence[0].quote).rstrip(".") in normalise(quote.strip(" \u201c\u201d."))


def test_fragments_joined_by_an_ellipsis_are_each_found_in_order():
    evidence = locate("Call with Dana ... nothing new before June", TEXT)
    assert [e.quote for e in evidence] == ["Call with Dana", "nothing new before June"]
    assert _verbatim(evidence)
    # Real words stitched out of order are not a quote.
    assert locate("nothing new before June ... Call with Dana", TEXT) == []


@pytest.mark.parametrize(
    "quote",
    [
        "Dana is leaving the company next month",  # invented
        "Call with Dana ... she resigned",  # one real fragment, one invented
        "ok",  # too short to prove anything
        "...",
        "",
    ],
)
def test_a_quote_that_is_not_in_the_text_is_not_found(quote):
    assert locate(quote, TEXT) == []


def test_ground_quotes_counts_the_missing_and_keeps_spans_once_in_text_order():
    quotes = ["BI suite\" next quarter", "an invented sentence here", "Call with Dana (Head", "call with dana (head of ops"]
    grounded = ground_quotes(quotes, TEXT)
    assert grounded.missing == ["an invented sentence here"]
    assert [e.quote for e in grounded.evidence] == ["Call with Dana (Head of Ops", "BI suite\" next quarter"]
    assert _verbatim(grounded.evidence)


@pytest.mark.parametrize("quote", ["Dana", "Call with Dana", "Head of Ops", "She said:"])
def test_a_name_or_a_greeting_is_not_evidence_even_when_it_is_in_the_text(quote):
    assert locate(quote, TEXT)  # it is there ...
    grounded = ground_quotes([quote], TEXT)  # ... but proves nothing on its own
    assert grounded.evidence == [] and grounded.missing == [quote]


def test_quotes_mangled_like_a_model_copies_them_are_found_in_real_documents():
    """Any passage of any dev document, with its whitespace, quote marks and case mangled, is
    found, and what is returned is a verbatim slice that reads the same."""
    rng = random.Random(7)
    docs = load_documents(bundled_path("dev"), labelled=True)
    for doc in rng.sample(docs, 60):
        text = doc.text
        start = rng.randrange(0, max(1, len(text) - 40))
        end = min(len(text), start + rng.randrange(12, 80))
        passage = re.sub(r"^\W+|\W+$", "", text[start:end])
        if sum(c.isalnum() for c in passage) < 4:
            continue
        mangled = " ".join(passage.split()).replace("'", "\u2019").replace('"', "\u201d")
        mangled = mangled.upper() if rng.random() < 0.5 else mangled
        evidence = locate(mangled, text)
        assert evidence, (doc.id, mangled)
        assert _verbatim(evidence, text)
        assert normalise(evidence[0].quote) == normalise(passage)
