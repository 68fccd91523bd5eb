"""A document is stored once, whatever export, folder or column mapping brings it in again."""

from __future__ import annotations

import datetime as dt

from helpers import run_ingest

WORDS = [
    "The renewal call went well and the team wants the new reporting module.",
    "Procurement asked us for a twenty percent discount before they sign again.",
    "Our sponsor Dana told us she is leaving the company at the end of the month and nobody replaces her yet.",
    "They are piloting a competitor's tool in the Lisbon office this quarter.",
    "Adoption is flat; nobody from finance has logged in since the summer.",
]


def _rows(day: int, count: int = 3) -> list[tuple[str, str]]:
    """A rolling export: the tickets of the last `count` days, oldest first, no id column."""
    first = dt.date(2026, 9, 1)
    rows = []
    for offset in range(max(0, day - count + 1), day + 1):
        date = first + dt.timedelta(days=offset)
        rows.append((date.isoformat(), f"{WORDS[offset % len(WORDS)]} Logged on {date:%d %B}."))
    return rows


def _write_export(path, rows, header="Organization,Created at,Description") -> None:
    lines = [header] + [f'Acme Logistics,{date},"{text}"' for date, text in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_rolling_exports_without_ids_over_thirty_nights(tmp_path, settings):
    """Day 1: A,B,C; day 2: B,C,D; ... Rows shift every night: nothing is overwritten or doubled."""
    export = tmp_path / "tickets.csv"
    seen: set[str] = set()
    flags: set[tuple[str, str]] = set()
    for day in range(30):
        rows = _rows(day)
        _write_export(export, rows)
        seen.update(text for _, text in rows)
        home, summary = run_ingest([export], settings)
        assert summary.failed == 0
        assert summary.new == (len(rows) if day == 0 else 1), f"night {day}"
        assert summary.updated == 0
        now = {(row["doc_id"], row["signal"]) for row in home.records.flags()}
        assert flags <= now, f"night {day} deleted flags of documents that left the export"
        flags = now
    stored = {row["text"] for row in home.records.iter_documents()}
    assert stored == seen and len(seen) == 30
    assert home.vectors.count() == 30
    assert flags, "the planted signals raised no flag, so the check above proved nothing"


def test_overlapping_folders_and_remapped_columns_store_each_note_once(tmp_path, settings):
    notes = tmp_path / "notes"
    (notes / "sub").mkdir(parents=True)
    (notes / "top.md").write_text("---\naccount_id: acme\ndate: 2026-05-04\n---\nQBR went fine, usage up.\n", encoding="utf-8")
    (notes / "sub" / "deep.md").write_text("---\naccount_id: acme\ndate: 2026-05-05\n---\nThe budget is frozen until Q3.\n", encoding="utf-8")
    _, first = run_ingest([notes], settings)
    _, second = run_ingest([notes / "sub"], settings)
    home, third = run_ingest([notes, notes / "sub" / "deep.md"], settings)
    assert (first.new, second.new, third.new) == (2, 0, 0)
    assert home.records.counts()["documents"] == 2

    export = tmp_path / "crm.csv"
    export.write_text("Ref,Company,Date,Body,Summary\n17,acme,2026-06-01,Call about the roadmap.,Roadmap\n", encoding="utf-8")
    _, mapped = run_ingest([export], settings, column_map={"text": "Body"})
    _, remapped = run_ingest([export], settings, column_map={"text": "Body", "id": "Ref", "subject": "Summary"})
    assert (mapped.new, remapped.new, remapped.duplicates) == (1, 0, 1)
    assert home.records.counts()["documents"] == 3


def test_an_edited_document_replaces_its_version_only_under_the_same_source_id(tmp_path, settings):
    export = tmp_path / "zendesk.csv"
    export.write_text("Ticket ID,Organization,Created at,Description\n4711,acme,2026-03-02,The export is slow.\n", encoding="utf-8")
    run_ingest([export], settings)
    export.write_text("Ticket ID,Organization,Created at,Description\n4711,acme,2026-03-02,The export is slow and we are evaluating another vendor.\n", encoding="utf-8")
    home, summary = run_ingest([export], settings)
    assert (summary.new, summary.updated) == (0, 1)
    assert home.records.get_document("4711")["text"].endswith("another vendor.")
    assert home.records.counts()["documents"] == 1
