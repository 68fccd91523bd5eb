"""What real exports contain: other encodings, invisible characters, binaries, huge cells, threads."""

from __future__ import annotations

import json
import sys

import pytest
from typer.testing import CliRunner

from helpers import doc, run_ingest, write_jsonl
from undertow.cli.app import app

DEPARTURE = "Our sponsor Dana told us she is leaving the company at the end of the month and nobody replaces her yet."


def test_latin1_file_is_read_right_and_the_guess_is_named(tmp_path, settings):
    note = tmp_path / "visit.txt"
    note.write_bytes("Réunion à Zürich: le budget est gelé jusqu'à l'année prochaine, décision du directeur financier.".encode("cp1252"))
    home, summary = run_ingest([note], settings, defaults={"account_id": "acme"})
    assert summary.new == 1 and summary.warnings == 1
    (stored,) = home.records.iter_documents()
    assert "gelé jusqu'à l'année" in stored["text"] and "\ufffd" not in stored["text"]


@pytest.mark.parametrize(
    "name, data, reason",
    [
        ("tool.txt", b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 8, "binary"),
        ("noise.md", bytes((i * 97 + 13) % 256 for i in range(4096)), "binary"),
        ("empty.txt", b"", "empty file"),
        ("blank.md", "\u200b\u200b \u2060\n\ufeff".encode("utf-8"), "no readable"),
    ],
)
def test_binary_empty_and_invisible_files_are_rejected_with_a_reason(tmp_path, settings, name, data, reason):
    (tmp_path / name).write_bytes(data)
    home, summary = run_ingest([tmp_path / name], settings, defaults={"account_id": "acme"})
    assert (summary.new, summary.failed) == (0, 1)
    assert reason in summary.failures[0] and name in summary.failures[0]


def test_invisible_characters_do_not_hide_a_signal_and_the_original_is_kept(tmp_path, settings):
    hidden = DEPARTURE.replace("Dana", "Da\u200bna").replace("leaving", "lea\x00ving").replace("company", "com\u00adpany")
    path = write_jsonl(tmp_path / "chat.jsonl", [doc(1, hidden)])
    home, summary = run_ingest([path], settings)
    stored = home.records.get_document("d-0001")
    assert stored["text"] == DEPARTURE and stored["original_text"] == hidden
    assert "champion_departure" in {f["signal"] for f in home.records.flags("acme")}


def test_a_helpdesk_thread_is_classified_on_its_new_text(tmp_path, settings):
    thread = (
        "Hi team, the dashboards load fine now, thanks for the quick fix.\n\n"
        "Kind regards\nMarta\n-- \nMarta Ruiz | IT Manager\n\n"
        "On Tue, 3 Mar 2026 at 09:12, Support <help@vendor.io> wrote:\n"
        f"> {DEPARTURE}\n> Can you move her admin rights?\n\n"
        "This e-mail is confidential and intended solely for the addressee."
    )
    path = write_jsonl(tmp_path / "tickets.jsonl", [doc(1, thread, source="ticket")])
    home, _ = run_ingest([path], settings)
    stored = home.records.get_document("d-0001")
    assert stored["text"] == "Hi team, the dashboards load fine now, thanks for the quick fix.\n\nKind regards\nMarta"
    assert stored["original_text"] == thread
    # The departure lives only in the quoted, older message: it was flagged when that arrived.
    assert "champion_departure" not in {f["signal"] for f in home.records.flags("acme")}


def test_a_note_keeps_the_customer_quoted_and_its_section_breaks(tmp_path, settings):
    note = (
        "Priya, verbatim:\n\n> We have decided not to renew in December. Leadership wants everything on Salesforce.\n\n"
        "--\nNext steps: send export instructions.\n______________________________\n"
        "This is confidential and intended for you only: our board decided to cancel the contract at the end of Q1."
    )
    path = write_jsonl(tmp_path / "notes.jsonl", [doc(1, note)])  # a call note, written by our CSM
    home, _ = run_ingest([path], settings)
    assert home.records.get_document("d-0001")["text"] == note
    assert "churn_intent" in {f["signal"] for f in home.records.flags("acme")}


def test_semicolon_csv_huge_cell_and_unterminated_quote(tmp_path, settings):
    export = tmp_path / "export.csv"
    huge = "The log says timeout. " * 8000  # 176,000 characters, over the csv module's 131,072
    export.write_text(
        "Ticket ID;Organization;Created at;Description\n"
        f"1;acme;2026-03-02;\"{huge}\"\n"
        "2;acme;2026-03-03;\"An unterminated quote starts here\n"
        "3;acme;2026-03-04;Swallowed unless the reader notices.\n",
        encoding="utf-8",
    )
    home, summary = run_ingest([export], settings, max_chars=20_000)
    assert summary.new == 1 and summary.failed == 1 and summary.warnings == 1
    assert "unterminated quote" in summary.failures[0] and ":3:" in summary.failures[0]
    stored = home.records.get_document("1")
    assert 10_000 < len(stored["text"]) <= 20_000 and stored["text"].endswith("timeout.")


def test_a_fifty_megabyte_line_is_cut_not_fatal(tmp_path, settings):
    path = write_jsonl(tmp_path / "big.jsonl", [doc(1, "Budget cuts everywhere. " * 2_000_000), doc(2)])
    home, summary = run_ingest([path], settings)
    assert (summary.new, summary.failed, summary.warnings) == (2, 0, 1)
    assert len(home.records.get_document("d-0001")["text"]) <= 100_000


def test_ambiguous_dates_are_reported_and_can_be_decided(tmp_path, settings):
    export = tmp_path / "us.csv"
    export.write_text("Ticket ID,Organization,Created at,Description\n9,acme,03/11/2026,Export is slow again.\n", encoding="utf-8")
    home, summary = run_ingest([export], settings)
    assert summary.warnings == 1 and home.records.get_document("9")["date"].month == 11
    home, summary = run_ingest([export], settings, dayfirst=False)
    assert summary.updated == 1 and home.records.get_document("9")["date"].month == 3


def test_pdf_docx_and_unsupported_files_in_a_folder(tmp_path, settings):
    import docx

    folder = tmp_path / "inbox"
    folder.mkdir()
    document = docx.Document()
    document.add_paragraph(DEPARTURE)
    document.save(str(folder / "call.docx"))
    (folder / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    home, summary = run_ingest([folder], settings, defaults={"account_id": "acme"})
    assert (summary.new, summary.failed) == (1, 0)
    assert summary.skipped_files and "logo.png" in summary.skipped_files[0]


def test_exit_codes_tell_a_crash_from_bad_input(tmp_path, home, monkeypatch, capsys):
    from undertow.cli import app as app_module
    from undertow.ingest.pipeline import Ingestor

    a_file = tmp_path / "not-a-folder"
    a_file.write_text("x")
    result = CliRunner().invoke(app, ["status", "--home", str(a_file)])
    assert result.exit_code == 2 and "is a file" in result.output and "Traceback" not in result.output

    monkeypatch.setenv("UNDERTOW_HOME", str(home))  # --home above wrote the environment (see settings)

    def crash(self, paths, options):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Ingestor, "run", crash)
    path = write_jsonl(tmp_path / "a.jsonl", [doc(1)])
    monkeypatch.setattr(sys, "argv", ["undertow", "ingest", str(path)])
    with pytest.raises(SystemExit) as ended:
        app_module.main()
    assert ended.value.code == 3
    printed = capsys.readouterr().err
    assert "internal error: RuntimeError: disk on fire" in printed and "Traceback" not in printed
    log = home / "logs" / "errors.log"
    assert "Traceback" in log.read_text() and str(log) in " ".join(printed.split())


def test_ingest_json_reports_duplicates_and_warnings(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [doc(1), {**doc(2), "text": doc(1)["text"], "date": doc(1)["date"]}])
    result = CliRunner().invoke(app, ["ingest", str(path), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["new"], summary["duplicates"]) == (1, 1)
