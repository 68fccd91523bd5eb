"""Rows of one ticket in an export, and two systems' tickets sharing a number, stay apart."""

from __future__ import annotations

from helpers import run_ingest

COMMENTS = (
    "Ticket ID,Organization,Created at,Comment\n"
    "500,Acme,2026-09-01,Our admin Priya is leaving the company at the end of the month.\n"
    "500,Acme,2026-09-02,Also we are evaluating Freshdesk as a cheaper alternative.\n"
    "500,Acme,2026-09-03,Thanks for the quick answer on the SSO question.\n"
    "500,Acme,2026-09-03,Thanks for the quick answer on the SSO question.\n"
)


def stored(home) -> dict[str, tuple[str, str]]:
    return {d["id"]: (d["account_id"], d["text"]) for d in home.records.iter_documents()}


def test_a_ticket_exported_one_row_per_comment_keeps_every_comment(tmp_path, settings):
    export = tmp_path / "comments.csv"
    export.write_text(COMMENTS, encoding="utf-8")
    home, summary = run_ingest([export], settings)
    assert sorted(stored(home)) == ["500", "500#2", "500#3"]
    assert (summary.new, summary.duplicates, summary.warnings) == (3, 1, 1)  # the repeated row is a duplicate, said once
    assert {f["signal"] for f in home.records.flags("acme")} >= {"champion_departure", "competitor_mention"}
    _, again = run_ingest([export], settings)
    assert (again.new, again.updated, again.skipped) == (0, 0, 3)  # the next night, the same ids


def test_two_systems_tickets_with_one_number_are_two_documents(tmp_path, settings):
    zendesk, salesforce = tmp_path / "zendesk.csv", tmp_path / "salesforce.csv"
    zendesk.write_text("Ticket ID,Organization,Created at,Description\n1,Acme,2026-09-01,We will cancel our subscription at the end of the term.\n",
                       encoding="utf-8")
    salesforce.write_text("Case Number,Account,Created Date,Description\n1,Beta Inc,2026-09-05,Question about SSO configuration.\n",
                          encoding="utf-8")
    home, _ = run_ingest([zendesk], settings)
    _, summary = run_ingest([salesforce], settings)
    assert stored(home) == {"1": ("acme", "We will cancel our subscription at the end of the term."),
                            "1@beta-inc": ("beta-inc", "Question about SSO configuration.")}
    assert summary.warnings == 1 and "churn_intent" in {f["signal"] for f in home.records.flags("acme")}


def test_two_systems_in_one_run_and_a_moved_document(tmp_path, settings):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text('{"id": "7", "account_id": "acme", "text": "We will not renew in March."}\n', encoding="utf-8")
    second.write_text('{"id": "7", "account_id": "beta", "text": "The export works again, thanks."}\n', encoding="utf-8")
    home, _ = run_ingest([first, second], settings)
    assert sorted(stored(home)) == ["7", "7@beta"]
    # The same words under another account: the CRM moved the document, so it moves.
    first.write_text('{"id": "7", "account_id": "acme-group", "text": "We will not renew in March."}\n', encoding="utf-8")
    run_ingest([first], settings)
    assert stored(home)["7"][0] == "acme-group" and len(stored(home)) == 2
