"""`undertow ask` answers the question it was asked, offline: a signal's evidence for a question
about that signal, the people the notes name for "who", the best passages otherwise, and one
plain sentence when the notes of the account do not answer it."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from helpers import run_ingest, write_jsonl
import test_ask
from test_ask import ACME, AS_OF, run_cli
from undertow.ask.answer import ask as ask_account
from undertow.ask.question import known_names, names_in, whether
from undertow.ask.render import plain_text

seeded = test_ask.seeded  # the store test_ask.py seeds, reused as this module's fixture


def test_competitor_question_leads_with_the_competitor_evidence(seeded):
    brief = ask_account(seeded, ACME, "Are they talking to competitors?", as_of=AS_OF, use_llm=False)
    answer = brief.answer
    assert answer.kind == "signal" and answer.signals == ["competitor_mention"]
    assert answer.evidence[0].doc_id == "al-04"
    assert answer.evidence[0].quote == "A team in Munich is piloting a cheaper tool [trial] for the same dashboards"
    assert "competitor mention (active" in answer.summary
    text = plain_text(brief)
    # The answer comes before everything else the brief says.
    assert text.index("## Answer from the notes") < text.index("## Scores") < text.index("## Signals")
    first = text.split("## Answer from the notes\n", 1)[1].splitlines()
    assert first[0].startswith("The notes of Acme Logistics show competitor mention")
    assert "piloting a cheaper tool [trial]" in first[1]


def test_signal_evidence_is_most_recent_first(seeded):
    answer = ask_account(seeded, ACME, "Is our champion leaving?", as_of=AS_OF, use_llm=False).answer
    assert answer.kind == "signal"
    assert [q.doc_id for q in answer.evidence] == ["al-03b", "al-03"]


def test_who_question_names_the_people(seeded, settings, tmp_path):
    path = write_jsonl(tmp_path / "authored.jsonl", [
        {"id": "al-09", "account_id": ACME, "account_name": "Acme Logistics", "source": "email", "date": "2026-09-28", "author": "Marta Kowalska",
         "text": "Sending the signed PO for the extra seats."},
        # Our CSM wrote the call note; Piotr's own address repeats a person already named.
        {"id": "al-10", "account_id": ACME, "account_name": "Acme Logistics", "source": "call_note", "date": "2026-09-27", "author": "Sofie de Vries",
         "text": "Call with Marta about the extra seats."},
        {"id": "al-11", "account_id": ACME, "account_name": "Acme Logistics", "source": "email", "date": "2026-09-26", "author": "piotr@acme.example",
         "text": "Confirming the training date."},
    ])
    run_ingest([path], settings)
    brief = ask_account(seeded, ACME, "Who is our champion now?", as_of=AS_OF, use_llm=False)
    answer = brief.answer
    assert answer.kind == "people"
    people = {p.name: p for p in answer.people}
    assert {"Dana", "Piotr", "Marta Kowalska"} <= set(people)
    assert (people["Piotr"].doc_id, people["Piotr"].date) == ("al-03b", dt.date(2026, 9, 10))
    assert people["Marta Kowalska"].role == "author (email)"
    assert people["Marta Kowalska"].date == dt.date(2026, 9, 28)
    assert answer.people[0].name == "Piotr"  # the newest evidence names whom to work with now
    assert "Munich" not in people  # only champion departure evidence is read for names
    assert "Sofie de Vries" not in people and "piotr@acme.example" not in people
    assert [q.doc_id for q in answer.evidence] == ["al-03b", "al-03"]
    assert "Piotr (2026-09-10)" in answer.summary and "champion departure is flagged" in answer.summary


def test_other_questions_lead_with_the_best_matching_sentence(seeded):
    brief = ask_account(seeded, ACME, "Is an invoice overdue?", as_of=AS_OF, use_llm=False)
    answer = brief.answer
    # "invoice" names budget pressure, but that flag is eight months old and faded: the passage leads.
    assert answer.kind == "passages" and answer.passages[0].doc_id == "al-05"
    assert "INV-2231 is overdue" in answer.passages[0].snippet
    assert answer.summary == "No budget pressure is active in the notes of Acme Logistics; the closest passages:"
    assert [q.doc_id for q in answer.evidence] == ["al-02"]  # still shown, after the passage
    text = plain_text(brief)
    assert text.index("INV-2231 is overdue") < text.index("flagged earlier:") < text.index("Our budget for next year")
    general = ask_account(seeded, ACME, "Do they use the route planner?", as_of=AS_OF, use_llm=False).answer
    assert general.kind == "passages"
    assert general.passages[0].doc_id == "al-01" and "route planner" in general.passages[0].snippet


def test_unanswerable_question_says_so(seeded):
    brief = ask_account(seeded, ACME, "Do they run their database on Oracle?", as_of=AS_OF, use_llm=False)
    assert brief.answer.kind == "unanswered"
    assert brief.answer.summary == "The notes of Acme Logistics do not say whether they run their database on Oracle."
    assert (brief.answer.evidence, brief.answer.people, brief.answer.passages) == ([], [], [])
    assert brief.answer.summary in plain_text(brief)
    quiet = ask_account(seeded, "Brightwater", "Are they talking to competitors?", as_of=AS_OF, use_llm=False).answer
    assert quiet.summary == "The notes of Brightwater Foods do not say whether they are talking to competitors."


def test_no_question_no_answer_section(seeded):
    brief = ask_account(seeded, ACME, as_of=AS_OF, use_llm=False)
    assert brief.answer is None and "## Answer from the notes" not in plain_text(brief)


def test_json_carries_the_answer(seeded):
    result = run_cli(ACME, "Are they talking to competitors?", "--as-of", "2026-10-01", "--json")
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)["answer"]
    assert answer["kind"] == "signal" and answer["evidence"][0]["doc_id"] == "al-04"
    assert answer["evidence"][0]["date"] == "2026-09-20"
    none = json.loads(run_cli(ACME, "--as-of", "2026-10-01", "--json").stdout)
    assert none["answer"] is None


@pytest.mark.parametrize(
    ("question", "clause"),
    [
        ("Are they talking to competitors?", "whether they are talking to competitors"),
        ("Do they use SAP?", "whether they use SAP"),
        ("What did the CFO say about pricing?", "what did the CFO say about pricing"),
        ("Renewal status", "anything that answers \u201cRenewal status\u201d"),
    ],
)
def test_question_as_a_clause(question, clause):
    assert whether(question) == clause


def test_names_in_evidence():
    assert names_in("Piotr is the new admin now that Dana has gone") == ["Piotr", "Dana"]
    assert names_in("Unfortunately Anna Weber left in September") == ["Anna Weber"]


def test_a_word_that_opens_a_sentence_is_a_name_only_if_the_notes_use_it_as_one():
    known = known_names([{"text": "Gesprek met Femke. Daarna koffie.", "author": "beatriz@vinhos.example"}])
    assert names_in("Queria avisar que saio em outubro.", known) == []
    assert names_in("Femke vertelde me dat ze vertrekt.", known) == ["Femke"]
    assert names_in("Beatriz sai em outubro.", known) == ["Beatriz"]  # an author's address names her
    assert names_in("Queria avisar que a Ana Costa sai.", known) == ["Ana Costa"]  # two words inside a sentence


def test_questions_in_other_languages_find_their_signal_not_their_small_words():
    from undertow.ask.playbook import load_playbook
    from undertow.ask.question import _content_words

    playbook = load_playbook()
    assert playbook.asked_about("Sprechen sie mit Wettbewerbern?") == ["competitor_mention"]
    assert playbook.asked_about("¿Tienen problemas de presupuesto?") == ["budget_pressure"]
    assert playbook.asked_about("Quem é o nosso contato?") == ["champion_departure"]
    assert playbook.asked_about("What content do they keep in the garage?") == []  # no other language's word beginnings misfire
    assert _content_words("Sprechen sie mit Wettbewerbern?") & _content_words("Monatliches Gespräch mit Sabine.") == set()
