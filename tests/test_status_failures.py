"""`undertow status` counts the failures of each file's latest failing run: the same bad input
read again is not counted again. Every run keeps its own failure rows; those are history."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from undertow.cli.app import app
from undertow.store.records import RecordStore


def _ingest_run(records: RecordStore, failures: dict[str, int]) -> None:
    run = records.start_run("ingest")
    for path, bad_lines in failures.items():
        for line in range(1, bad_lines + 1):
            records.record_failure(run, path, line, "not valid JSON")
    records.finish_run(run, "partial", {"read": 0, "new": 0, "updated": 0, "skipped": 0, "failed": sum(failures.values())}, 0.1)


def test_a_rerun_over_the_same_bad_lines_counts_them_once(record_url):
    records = RecordStore(record_url)
    _ingest_run(records, {"notes.jsonl": 11})
    _ingest_run(records, {"notes.jsonl": 11})
    assert (records.counts()["failures"], records.failures_recorded()) == (11, 22)
    _ingest_run(records, {"notes.jsonl": 4, "tickets.csv": 2})  # 7 lines fixed; a new file read
    _ingest_run(records, {"crm.csv": 1})  # another source's run does not hide the others'
    assert (records.counts()["failures"], records.failures_recorded()) == (7, 29)


def test_status_says_what_the_number_means(settings):
    records = RecordStore(settings.sqlite_url)
    _ingest_run(records, {"notes.jsonl": 11})
    _ingest_run(records, {"notes.jsonl": 11})
    text = CliRunner().invoke(app, ["status"])
    assert text.exit_code == 0, text.output
    assert "failures           11 (bad lines or files in each file's latest failing run; 22 recorded over all runs)" in " ".join(text.stdout.split("\n"))
    report = json.loads(CliRunner().invoke(app, ["status", "--json"]).stdout)
    assert (report["failures"], report["failures_recorded"]) == (11, 22)
