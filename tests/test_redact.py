"""Redaction before text leaves the machine: checksums, stable placeholders, a round trip."""

from __future__ import annotations

import pytest
from undertow.extractor.redact import Redactor, fit, iban_ok, luhn_ok

TEXT = (
    "Hi Jordan, our sponsor Dana Whitfield is leaving. Mail dana@acme.example or call +49 30 1234 5678. "
    "IBAN GB82 WEST 1234 5698 7654 32, card 5500 0000 0000 0004, password: s3cr3t-Pass. "
    "Dana Whitfield said the 2026-03-02 renewal for 40 seats (invoice 1234567) is on hold.\n\nCheers,\nMaria"
)


def test_checksums_separate_real_numbers_from_lookalikes():
    assert luhn_ok("4111 1111 1111 1111") and not luhn_ok("4111 1111 1111 1112")
    assert iban_ok("GB82 WEST 1234 5698 7654 32") and not iban_ok("GB82 WEST 1234 5698 7654 33")


def test_personal_data_is_replaced_with_stable_placeholders_and_restored():
    redactor = Redactor()
    redacted = redactor.redact(TEXT)
    for secret in ("Jordan", "Dana Whitfield", "dana@acme.example", "+49 30 1234 5678", "GB82 WEST", "5500 0000", "s3cr3t-Pass", "Maria"):
        assert secret not in redacted
    assert redacted.count("[PERSON_2]") == 2  # the same person, the same placeholder
    # Dates, amounts and ids that are not personal stay: the model needs them.
    assert "2026-03-02" in redacted and "40 seats" in redacted and "1234567" in redacted
    assert redactor.restore(redacted) == TEXT
    assert redactor.restore("PERSON_2 is leaving") == "Dana Whitfield is leaving"  # brackets dropped by the model


@pytest.mark.parametrize("limit", [80, 160, 400])
def test_fit_keeps_whole_sentences_and_prefers_the_scored_ones(limit):
    text = " ".join(f"Sentence number {i} is filler." for i in range(30)) + " The budget was cut by half."
    out = fit(text, limit, score=lambda s: 1.0 if "budget" in s else 0.0)
    assert len(out) <= limit and "The budget was cut by half." in out
    assert all(part.strip().endswith(".") or part.strip() == "[...]" for part in out.split(" [...] "))


def test_names_with_inner_capitals_and_a_known_authors_first_name_are_redacted_whole():
    signed = Redactor().redact("We will cut seats.\n\nThanks,\nSean McDonald")
    assert "Sean" not in signed and "McDonald" not in signed
    quoted = Redactor().redact("Our champion Siobhan O'Brien is leaving.\n\nRegards,\nSiobhan O'Brien")
    assert "Siobhan" not in quoted and "Brien" not in quoted and quoted.count("[PERSON_1]") == 2
    author = Redactor(names=["Karen Whitfield"])
    sent = author.redact("Karen here again. We will not renew in March.")
    assert "Karen" not in sent and author.restore(sent) == "Karen here again. We will not renew in March."
