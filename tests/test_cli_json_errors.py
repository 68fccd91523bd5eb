"""A command run with --json that fails still gives a script one JSON object on stdout,
{"error": the one-line message, "exit_code": N}, while stderr keeps the message for people.
Done once, around every command (`UndertowGroup`), not in each command."""

from __future__ import annotations

import json
import sys

import pytest
from typer.testing import CliRunner

from helpers import doc, write_jsonl
from undertow.cli.app import app


def _run(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


def _error(result) -> dict:
    """stdout is exactly one JSON object, and it names the failure stderr names."""
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    error = json.loads(lines[0])
    assert set(error) == {"error", "exit_code"} and error["exit_code"] == result.exit_code
    assert " ".join(error["error"].split()) in " ".join(result.stderr.split())
    return error


def test_ingest_on_a_busy_home(tmp_path, home):
    from undertow.store.lock import exclusive

    path = write_jsonl(tmp_path / "notes.jsonl", [doc(1)])
    home.mkdir(parents=True, exist_ok=True)
    with exclusive(home, "ingest"):
        result = _run("ingest", path, "--json")
    assert result.exit_code == 2
    assert "is busy: `undertow ingest`" in _error(result)["error"]


def test_eval_on_a_bad_gold_line(tmp_path):
    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"id": "g1", "account_id": "a"\n', encoding="utf-8")
    result = _run("eval", gold, "--json")
    assert result.exit_code == 2 and _error(result)["error"].startswith(f"{gold}:1: not valid JSON")


def test_train_with_a_missing_data_file(tmp_path):
    result = _run("train", "--json", "--data", tmp_path / "missing.jsonl")
    assert result.exit_code == 2 and "missing.jsonl" in _error(result)["error"]


def test_doctor_with_a_home_that_is_a_file(tmp_path):
    (tmp_path / "file").write_text("", encoding="utf-8")
    result = _run("doctor", "--json", "--home", tmp_path / "file")
    assert result.exit_code == 2 and "is a file, not a folder" in _error(result)["error"]


def test_a_usage_error_is_reported_in_json_too():
    result = _run("status", "--json", "--no-such-option")
    assert result.exit_code == 2 and _error(result)["error"] == "No such option: --no-such-option"


def test_without_json_stdout_stays_empty(tmp_path):
    result = _run("train", "--data", tmp_path / "missing.jsonl")
    assert result.exit_code == 2 and result.stdout == "" and "missing.jsonl" in result.stderr
    result = _run("eval", "--", "--json")  # a file named --json, not the option
    assert result.exit_code == 2 and result.stdout == ""


def test_a_result_printed_before_a_failing_exit_is_the_only_object(tmp_path):
    """ingest prints its summary and exits 1 when input was rejected: the summary is the object."""
    path = tmp_path / "notes.jsonl"
    path.write_text("{not json\n", encoding="utf-8")
    result = _run("ingest", path, "--json")
    assert result.exit_code == 1
    [line] = result.stdout.splitlines()
    assert "error" not in json.loads(line) and json.loads(line)["failed"] == 1


def test_an_internal_error_is_reported_in_json(monkeypatch, capsys):
    from undertow.cli import app as app_module
    from undertow.cli import status_cmd

    def broken(settings):
        raise ValueError("operands could not be broadcast together")

    monkeypatch.setattr(status_cmd, "home_status", broken)
    monkeypatch.setattr(sys, "argv", ["undertow", "status", "--json"])
    with pytest.raises(SystemExit) as ended:
        app_module.main()
    assert ended.value.code == 3
    error = json.loads(capsys.readouterr().out)
    assert error["exit_code"] == 3 and error["error"].startswith("internal error: ValueError: operands could not be broadcast together")
