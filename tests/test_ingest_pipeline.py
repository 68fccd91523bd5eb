"""Nightly safety: idempotent re-runs, replacement of edited notes, bad input, the lock, SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import doc, run_ingest, write_jsonl
from undertow.cli.app import app
from undertow.store.lock import StoreBusy, exclusive

CHAMPION = "Our sponsor Dana told us she is leaving the company at the end of the month and nobody replaces her yet."


def test_rerun_adds_nothing_and_edit_replaces(tmp_path, settings):
    path = write_jsonl(tmp_path / "a.jsonl", [doc(i) for i in range(5)])
    home, first = run_ingest([path], settings)
    assert (first.new, first.updated, first.skipped, first.failed) == (5, 0, 0, 0)
    _, second = run_ingest([path], settings)
    assert (second.new, second.updated, second.skipped) == (0, 0, 5)

    edited = [doc(i) for i in range(5)]
    edited[2]["text"] = CHAMPION
    write_jsonl(path, edited)
    _, third = run_ingest([path], settings)
    assert (third.new, third.updated, third.skipped) == (0, 1, 4)
    assert home.records.counts()["documents"] == 5
    assert home.vectors.count() == 5
    stored = home.records.get_document("d-0002")
    assert stored["text"] == CHAMPION
    flags = {f["signal"]: f for f in home.records.flags("acme")}
    assert "champion_departure" in flags
    assert flags["champion_departure"]["doc_id"] == "d-0002"
    quote = flags["champion_departure"]["evidence"][0]
    assert CHAMPION[quote["start"] : quote["end"]] == quote["quote"]


def test_bad_lines_are_quarantined_and_the_rest_stored(tmp_path, settings, home):
    path = write_jsonl(tmp_path / "b.jsonl", [doc(1), doc(2)])
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("{oops\n")
        handle.write(json.dumps(doc(3)) + "\n")
    records, summary = run_ingest([path], settings)
    assert (summary.new, summary.failed) == (3, 1)
    assert summary.failures == [f"{path}:3: not valid JSON (Expecting property name enclosed in double quotes at column 2)"]
    quarantined = (home / "quarantine" / f"run-{summary.run_id}.jsonl").read_text().splitlines()
    assert json.loads(quarantined[0])["raw"] == "{oops\n"


def test_cli_exit_code_tells_cron_about_failures(tmp_path, home):
    good = write_jsonl(tmp_path / "good.jsonl", [doc(1)])
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", str(good), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["new"] == 1
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "account_id": "a"}\n', encoding="utf-8")
    result = runner.invoke(app, ["ingest", str(bad), str(good)])
    assert result.exit_code == 1
    assert f"{bad}:1: text: Field required" in result.stderr
    status = json.loads(runner.invoke(app, ["status", "--json"]).stdout)
    assert status["documents"] == 1 and status["last_runs"][0]["status"] == "partial"


def test_second_writer_is_refused_with_a_clear_message(tmp_path, settings, home):
    path = write_jsonl(tmp_path / "c.jsonl", [doc(1)])
    home.mkdir(parents=True, exist_ok=True)
    with exclusive(home, "ingest"):
        with pytest.raises(StoreBusy, match="is busy: `undertow ingest`"):
            run_ingest([path], settings)
        result = CliRunner().invoke(app, ["ingest", str(path)])
        assert result.exit_code == 2 and "busy" in result.stderr
    _, summary = run_ingest([path], settings)
    assert summary.new == 1


def _count(db: Path, table: str) -> int:
    try:
        with sqlite3.connect(db, timeout=1) as conn:
            return conn.execute(f"select count(*) from {table}").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


@pytest.mark.slow
def test_killed_run_resumes_with_every_document_once(tmp_path, home):
    total = 240
    path = write_jsonl(tmp_path / "many.jsonl", [doc(i, text=f"Call {i}: we reviewed usage of report {i} and agreed next steps.") for i in range(total)])
    env = {**os.environ, "UNDERTOW_HOME": str(home), "UNDERTOW_INGEST_BATCH": "8"}
    command = [sys.executable, "-m", "undertow", "ingest", str(path)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = home / "undertow.db"
    deadline = time.monotonic() + 120
    while _count(db, "documents") < 16 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    stored_before = _count(db, "documents")
    assert 0 < stored_before < total, "the run should have been killed halfway"

    finished = subprocess.run(command + ["--json"], env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    summary = json.loads(finished.stdout)
    assert summary["new"] == total - stored_before and summary["skipped"] == stored_before
    assert _count(db, "documents") == total
    from undertow.settings import load_settings
    from undertow.store.home import Home

    assert Home(load_settings(home)).vectors.count() == total
    with sqlite3.connect(db) as conn:
        statuses = [row[0] for row in conn.execute("select status from runs order by id")]
    assert statuses == ["interrupted", "ok"]
