"""`undertow feedback`: what it says after a verdict or a take-back, and who signs the verdict."""

from __future__ import annotations

import datetime as dt

import pytest
from typer.testing import CliRunner

from helpers import seed_flagged_document
from undertow.cli.app import app
from undertow.store.records import RecordStore


@pytest.fixture()
def records(settings):
    records = RecordStore(settings.sqlite_url)
    seed_flagged_document(records, "acme", "m1", dt.datetime(2026, 9, 28, 10), "champion_departure", 0.9, "Dana leaves in November.")
    return records


def feedback(*args: str):
    return CliRunner().invoke(app, ["feedback", "m1", *args])


def test_taking_back_a_verdict_never_given_says_only_that(records):
    result = feedback("--clear", "champion_departure")
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == "m1: no verdict on champion_departure to take back"


def test_lists_are_written_as_words(records):
    result = feedback("--reject", "champion_departure", "--reject", "budget_pressure", "--author", "Maria")
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == (
        "noted for m1, signed Maria: rejected champion_departure and budget_pressure; it counts in health scores now, "
        "and `undertow train` applies it to the model"
    )
    result = feedback("--clear", "champion_departure", "--clear", "churn_intent")
    assert "took back the verdict on champion_departure; " in result.stderr
    assert result.stderr.strip().endswith("; no verdict on churn_intent to take back")

    both = feedback("--confirm", "budget_pressure", "--reject", "budget_pressure")
    assert both.exit_code == 2
    assert "cannot confirm and reject budget_pressure at once" in both.stderr and "[" not in both.stderr


def test_a_verdict_without_author_is_signed_with_the_login_name(records, monkeypatch):
    monkeypatch.setattr("getpass.getuser", lambda: "dana")
    assert feedback("--reject", "champion_departure").exit_code == 0
    assert [(f["signal"], f["author"]) for f in records.feedback()] == [("champion_departure", "dana")]

    def no_login():
        raise OSError("No username set in the environment")

    monkeypatch.setattr("getpass.getuser", no_login)
    assert feedback("--reject", "budget_pressure").exit_code == 0
    assert {f["signal"]: f["author"] for f in records.feedback()}["budget_pressure"] == "unknown"
