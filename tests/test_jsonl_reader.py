"""The JSONL reader: ids as exports write them, blank accounts refused, JSON errors said in full."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from undertow.documents import Document
from undertow.ingest.items import ReadDocument, ReadFailure
from undertow.ingest.sources import ReadOptions, read_all


def read_lines(tmp_path: Path, lines: list[str], **options) -> list:
    path = tmp_path / "export.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return list(read_all([path], ReadOptions(**options)))


def read_one(tmp_path: Path, row: dict, **options):
    (item,) = read_lines(tmp_path, [json.dumps(row)], **options)
    return item


def test_integer_ids_are_read_as_their_digits_like_the_same_csv_export(tmp_path: Path):
    item = read_one(tmp_path, {"id": 7, "account_id": 123, "date": "2026-09-01", "text": "our VP is consolidating tools"})
    assert isinstance(item, ReadDocument), item
    (tmp_path / "export.csv").write_text("id,account_id,date,text\n7,123,2026-09-01,our VP is consolidating tools\n", encoding="utf-8")
    (from_csv,) = read_all([tmp_path / "export.csv"], ReadOptions())
    assert (item.document.id, item.document.account_id) == (from_csv.document.id, from_csv.document.account_id) == ("7", "123")


def test_id_zero_is_an_id_not_a_missing_one(tmp_path: Path):
    item = read_one(tmp_path, {"id": 0, "account_id": "acme", "text": "hello"})
    assert isinstance(item, ReadDocument) and item.document.id == "0"


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("id", 7.5, "id: must be text or a whole number, not a decimal number (7.5)"),
        ("id", 7.0, "id: must be text or a whole number, not a decimal number (7.0)"),
        ("id", True, "id: must be text or a whole number, not a boolean (true)"),
        ("account_id", {"id": 1}, "account_id: must be text or a whole number, not an object"),
        ("account_id", [123], "account_id: must be text or a whole number, not a list"),
    ],
)
def test_ids_that_are_not_text_or_whole_numbers_are_refused(tmp_path: Path, field: str, value, reason: str):
    row = {"id": "t-1", "account_id": "acme", "text": "hello", field: value}
    item = read_one(tmp_path, row)
    assert isinstance(item, ReadFailure) and (item.line, item.reason) == (1, reason)


def test_ids_are_stripped_and_a_blank_account_is_refused_while_the_batch_goes_on(tmp_path: Path):
    items = read_lines(tmp_path, [
        json.dumps({"id": " e1 ", "account_id": "\tacme ", "text": "hello"}),
        json.dumps({"id": "e3", "account_id": " ", "text": "blank account"}),
        json.dumps({"id": "e4", "account_id": "", "text": "empty account"}),
        json.dumps({"id": "e5", "account_id": "acme", "text": "still read"}),
    ])
    assert [(i.document.id, i.document.account_id) for i in items if isinstance(i, ReadDocument)] == [("e1", "acme"), ("e5", "acme")]
    assert [str(i) for i in items if isinstance(i, ReadFailure)] == [
        f"{tmp_path / 'export.jsonl'}:2: account_id is blank",
        f"{tmp_path / 'export.jsonl'}:3: account_id is blank",
    ]


def test_a_blank_account_takes_the_default_and_a_blank_id_is_derived_as_in_csv(tmp_path: Path):
    item = read_one(tmp_path, {"id": "  ", "account_id": " ", "text": "no ids here"}, defaults={"account_id": "acme"})
    assert isinstance(item, ReadDocument), item
    assert item.document.account_id == "acme"
    assert item.document.id.startswith("doc-")


def test_invalid_json_says_where_on_the_line(tmp_path: Path):
    line = '{"id":"e2","text":"tab\x01here","account_id":"a"}'
    items = read_lines(tmp_path, ['{"id":"e1","account_id":"a","text":"fine"}', line, '{"id": "e3",'])
    failures = [i for i in items if isinstance(i, ReadFailure)]
    column = line.index("\x01") + 1
    assert [(f.line, f.reason) for f in failures] == [
        (2, f"not valid JSON (Invalid control character at column {column})"),
        (3, "not valid JSON (Expecting property name enclosed in double quotes at column 13)"),
    ]


def test_document_reads_integer_ids_but_keeps_stored_ids_as_they_are():
    assert Document(id=7, account_id=123, text="x").id == "7"
    # Stored rows come back through Document: an id with spaces must still match its flags.
    assert Document(id=" x ", account_id="a", text="x").id == " x "
    with pytest.raises(ValidationError, match="not a boolean"):
        Document(id="x", account_id=False, text="x")
