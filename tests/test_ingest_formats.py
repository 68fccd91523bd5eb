"""Every input format reads into the one Document shape, with its failures named by file and line."""

from __future__ import annotations

import mailbox
from pathlib import Path

from helpers import doc, email_message, write_jsonl
from undertow.ingest.items import ReadDocument, ReadFailure
from undertow.ingest.thread import new_text as trim_reply
from undertow.ingest.sources import ReadOptions, read_all


def read(paths: list[Path], **options):
    items = list(read_all(paths, ReadOptions(**options)))
    docs = [i.document for i in items if isinstance(i, ReadDocument)]
    failures = [i for i in items if isinstance(i, ReadFailure)]
    return docs, failures


def test_jsonl_keeps_labels_and_reports_bad_lines(tmp_path):
    path = write_jsonl(tmp_path / "notes.jsonl", [doc(1, labels=["budget_pressure"], evidence={"budget_pressure": ["sync"]}), doc(2)])
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"id": "d-3", "account_id": "acme"\n')
        handle.write('{"id": "d-4", "account_id": "acme", "text": "ok", "date": "yesterday-ish"}\n')
    docs, failures = read([path])
    assert [d.id for d in docs] == ["d-0001", "d-0002"]
    assert docs[0].labels == ["budget_pressure"]
    assert [(f.line, f.path) for f in failures] == [(3, str(path)), (4, str(path))]
    assert "not valid JSON" in failures[0].reason
    assert "date" in failures[1].reason


def test_csv_helpdesk_export_maps_known_headers(tmp_path):
    path = tmp_path / "zendesk.csv"
    path.write_text(
        "Ticket ID,Organization,Created at,Subject,Description\n"
        "4711,Brightwave Media,2026-03-02 10:15,Export broken,\"The export fails since Monday.\nSteps: open report, click export.\"\n"
        "4712,Brightwave Media,not a date,Hello,Second ticket\n",
        encoding="utf-8",
    )
    docs, failures = read([path])
    assert len(docs) == 1 and len(failures) == 1
    ticket = docs[0]
    assert (ticket.id, ticket.account_id, ticket.account_name, ticket.source) == ("4711", "brightwave-media", "Brightwave Media", "ticket")
    assert ticket.day == "2026-03-02" and "Steps: open report" in ticket.text
    assert failures[0].line == 4 and "date" in failures[0].reason


def test_csv_explicit_mapping_and_missing_column_error(tmp_path):
    path = tmp_path / "hubspot.csv"
    path.write_text("Engagement,Company Domain,Note Body\n9,acme-logistics,Champion moves to a new role\n", encoding="utf-8")
    docs, failures = read([path], column_map={"id": "Engagement", "account_id": "Company Domain", "text": "Note Body"})
    assert [(d.id, d.account_id) for d in docs] == [("9", "acme-logistics")]
    docs, failures = read([path])
    assert not docs and "--map" in failures[0].reason and "Company Domain" in failures[0].reason


def test_eml_trims_quotes_and_signature_and_finds_customer(tmp_path):
    body = (
        "Hi Sam,\n\nWe are pausing the rollout to the Porto office for now.\n\n"
        "Best,\nLena\n-- \nLena Vogt | Head of Ops | Nordhafen GmbH\n\n"
        "On Mon, 13 Apr 2026 at 10:00, Sam <sam@vendor.io> wrote:\n> Any news on Porto?\n> Our team is leaving\n"
    )
    message = email_message("Lena Vogt <lena@nordhafen.de>", "sam@vendor.io", "Re: Porto", body, message_id="abc@nordhafen.de")
    (tmp_path / "m.eml").write_bytes(bytes(message))
    docs, failures = read([tmp_path], own_domains={"vendor.io"})
    assert not failures
    (mail,) = docs
    assert mail.id == "abc@nordhafen.de" and mail.account_id == "nordhafen" and mail.source == "email"
    assert "pausing the rollout" in mail.text
    assert "Head of Ops" not in mail.text and "Any news" not in mail.text and "leaving" not in mail.text
    assert mail.author == "lena@nordhafen.de" and mail.day == "2026-04-14"


def test_html_only_email_becomes_text(tmp_path):
    message = email_message("a@client.com", "b@vendor.io", "Update", "", html="<p>Procurement wants a <b>20% discount</b>.</p>", account="client-co")
    (tmp_path / "h.eml").write_bytes(bytes(message))
    (mail,), _ = read([tmp_path / "h.eml"])
    assert mail.account_id == "client-co"
    assert "Procurement wants a **20% discount**." in mail.text or "Procurement wants a 20% discount." in mail.text
    assert "<p>" not in mail.text


def test_mbox_reads_every_message_and_names_bad_ones(tmp_path):
    box = mailbox.mbox(str(tmp_path / "inbox.mbox"))
    box.add(email_message("x@alpha.com", "me@vendor.io", "One", "First message body.", message_id="1@alpha"))
    box.add(email_message("y@beta.com", "me@vendor.io", "Two", "Second message body.", message_id="2@beta"))
    box.add(email_message("z@gamma.com", "me@vendor.io", "Three", "   ", message_id="3@gamma"))
    box.flush()
    box.close()
    docs, failures = read([tmp_path / "inbox.mbox"], own_domains={"vendor.io"})
    assert [(d.id, d.account_id) for d in docs] == [("1@alpha", "alpha"), ("2@beta", "beta")]
    assert len(failures) == 1 and "message 3" in failures[0].reason and failures[0].line is not None


def test_markdown_front_matter_and_plain_text_need_an_account(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "qbr.md").write_text(
        "---\naccount_id: kestrel-foods\ndate: 2026-05-04\nsource: meeting_transcript\nauthor: j.silva\n---\n# QBR\nAll good, adoption up.\n",
        encoding="utf-8",
    )
    (tmp_path / "notes" / "loose.txt").write_text("A note with no account.", encoding="utf-8")
    (tmp_path / "notes" / "broken.md").write_text("---\naccount_id: [unclosed\n---\nbody", encoding="utf-8")
    docs, failures = read([tmp_path / "notes"])
    assert [(d.account_id, d.source, d.author, d.day) for d in docs] == [("kestrel-foods", "meeting_transcript", "j.silva", "2026-05-04")]
    assert docs[0].id.startswith("qbr-")
    assert sorted(Path(f.path).name for f in failures) == ["broken.md", "loose.txt"]
    docs, _ = read([tmp_path / "notes" / "loose.txt"], defaults={"account_id": "kestrel-foods"})
    assert docs[0].account_id == "kestrel-foods"


def test_reply_trimming_in_other_languages():
    italian = "Ciao,\nil progetto è sospeso.\n\nIl giorno lun 3 mar 2026 alle 10:00 Marco <m@v.io> ha scritto:\n> vecchio testo"
    german = "Hallo,\nwir kündigen.\n\nAm 03.03.2026 um 10:00 schrieb Marco <m@v.io>:\n> alter Text"
    assert trim_reply(italian) == "Ciao,\nil progetto è sospeso."
    assert trim_reply(german) == "Hallo,\nwir kündigen."


def test_missing_path_is_reported(tmp_path):
    _, failures = read([tmp_path / "nope.jsonl"])
    assert failures and "no such file" in failures[0].reason


def test_csv_excel_sep_line_names_the_delimiter_and_is_skipped(tmp_path):
    """Excel writes `sep=;` above the header; it used to be taken for the header ("cannot find
    text, account_id among columns ['sep=;']")."""
    path = tmp_path / "excel.csv"
    path.write_text(
        "sep=;\n"
        "id;account_id;text\n"
        "1;acme;Budget was cut, renewal under review\n"
        "2;acme;too;many;cells\n",
        encoding="utf-8",
    )
    docs, failures = read([path])
    assert [(d.id, d.account_id, d.text) for d in docs] == [("1", "acme", "Budget was cut, renewal under review")]
    assert [f.line for f in failures] == [4]  # the file's own line numbers, the sep line counted


def test_csv_excel_sep_line_with_nothing_after_it_names_the_header_line(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text('"sep=,"\n', encoding="utf-8")
    _, failures = read([path])
    assert [(f.line, f.reason) for f in failures] == [(2, "no header row")]


def test_csv_header_repeating_a_column_a_field_reads_refuses_the_file(tmp_path):
    path = tmp_path / "twice.csv"
    path.write_text("account_id,text,Text\nacme,first words,second words\n", encoding="utf-8")
    docs, failures = read([path])
    assert not docs
    assert [str(f) for f in failures] == [
        f"{path}:1: column 'text' appears twice (columns 2, 3); rename one in the file, or map text to another column with --map text=COLUMN"
    ]
    # Named exactly with --map, the column is no longer ambiguous; nor is a repeated column no field reads.
    docs, failures = read([path], column_map={"text": "Text"})
    assert [d.text for d in docs] == ["second words"] and not failures
    path.write_text("account_id,text,notes_x,notes_x\nacme,words,a,b\n", encoding="utf-8")
    docs, failures = read([path])
    assert [d.text for d in docs] == ["words"] and not failures
