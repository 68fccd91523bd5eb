"""Sentence splitting that knows abbreviations, ordinals and dates in the seven languages."""

from __future__ import annotations

import pytest

from undertow.segment import split_sentences


@pytest.mark.parametrize(
    "language, text, expected",
    [
        ("de", "Frau Krämer wird uns zum 1. Oktober verlassen. Wir melden uns im 3. Quartal.",
         ["Frau Krämer wird uns zum 1. Oktober verlassen.", "Wir melden uns im 3. Quartal."]),
        ("de", "Herr Dr. Ruf übernimmt, z. B. das Reporting. Danke!", ["Herr Dr. Ruf übernimmt, z. B. das Reporting.", "Danke!"]),
        ("en", "Dr. Smith met us on Jan. 5. The U.S. team, e.g. Anna, leaves at 5 p.m. Thanks!",
         ["Dr. Smith met us on Jan. 5.", "The U.S. team, e.g. Anna, leaves at 5 p.m.", "Thanks!"]),
        ("fr", "M. Dupont part le 1er octobre. Merci !", ["M. Dupont part le 1er octobre.", "Merci !"]),
        ("it", "Il dott. Rossi lascia l'azienda il 1° ottobre. Grazie.", ["Il dott. Rossi lascia l'azienda il 1° ottobre.", "Grazie."]),
        ("es", "La Sra. López deja la empresa el 1 de oct. de 2026. ¿Hablamos?", ["La Sra. López deja la empresa el 1 de oct. de 2026.", "¿Hablamos?"]),
        ("pt", "O Sr. Silva sai da empresa a 1 de out. de 2026. Obrigado.", ["O Sr. Silva sai da empresa a 1 de out. de 2026.", "Obrigado."]),
        ("nl", "Dhr. Jansen vertrekt per 1 okt. Bijv. het dashboard blijft.", ["Dhr. Jansen vertrekt per 1 okt.", "Bijv. het dashboard blijft."]),
    ],
)
def test_abbreviations_ordinals_and_dates_do_not_end_a_sentence(language, text, expected):
    sentences = split_sentences(text, language)
    assert [s.text for s in sentences] == expected
    assert all(text[s.start : s.end] == s.text for s in sentences)


def test_lines_are_sentences_and_offsets_stay_exact():
    text = "Hi Sam,\n\n- budget frozen until Q3\n> quoted old line\nWe will not renew. The contract ends in March."
    sentences = split_sentences(text, "en")
    assert [s.text for s in sentences] == ["Hi Sam,", "- budget frozen until Q3", "> quoted old line", "We will not renew.", "The contract ends in March."]
    assert all(text[s.start : s.end] == s.text for s in sentences)


def test_a_pasted_log_is_cut_into_pieces():
    text = "error " * 400
    sentences = split_sentences(text, "en")
    assert len(sentences) > 1 and all(len(s.text) <= 600 for s in sentences)
    assert all(text[s.start : s.end] == s.text for s in sentences)
