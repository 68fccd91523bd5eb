"""`undertow classify -`: stdin read like a file, named `<stdin>`, and no customer text left behind."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from undertow.cli import classify_cmd
from undertow.cli.app import app

CP1252 = (
    '{"id":"c1","account_id":"a","text":"caf\xe9 cancel"}\n'
    '{"id":"c2","account_id":"a","text":"we will not renew"}\n'
).encode("cp1252")


@pytest.fixture()
def temp_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temp folder classify writes into, watched by the test."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def classify_stdin(data: bytes, *args: str):
    return CliRunner().invoke(app, ["classify", "-", *args], input=data)


def test_non_utf8_stdin_is_decoded_like_a_file_and_nothing_is_left_behind(temp_folder: Path):
    result = classify_stdin(CP1252)
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["c1", "c2"]
    # The accent is read, not replaced: evidence quotes the customer's words as written.
    assert any("café" in quote for quote in sum(lines[0]["evidence"].values(), []))
    assert os.listdir(temp_folder) == []


def test_a_bad_stdin_line_is_named_stdin_and_the_rest_is_classified(temp_folder: Path):
    data = b'x\n{"id":"c2","account_id":"a","text":"we will not renew"}\n'
    result = classify_stdin(data)
    assert result.exit_code == 1
    assert "<stdin>:1: not valid JSON (Expecting value at column 1)" in result.stderr
    assert str(temp_folder) not in result.stderr
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["c2"]
    assert os.listdir(temp_folder) == []


def test_empty_stdin_is_rejected_as_stdin(temp_folder: Path):
    result = classify_stdin(b"")
    assert result.exit_code == 1
    assert "<stdin>: empty file" in result.stderr
    assert os.listdir(temp_folder) == []


def test_stdin_copy_is_private_and_removed_when_the_command_is_interrupted(temp_folder: Path, monkeypatch: pytest.MonkeyPatch):
    seen = {}

    def interrupted(settings, paths, **_):
        (path,) = paths
        seen["bytes"] = path.read_bytes()
        seen["modes"] = stat.S_IMODE(path.parent.stat().st_mode), stat.S_IMODE(path.stat().st_mode)
        raise KeyboardInterrupt

    monkeypatch.setattr(classify_cmd, "run_classify", interrupted)
    result = classify_stdin(CP1252)
    assert result.exit_code != 0
    assert seen == {"bytes": CP1252, "modes": (0o700, 0o600)}  # the bytes as given, for the readers to decode
    assert os.listdir(temp_folder) == []


def test_stdin_can_be_named_once(temp_folder: Path):
    result = CliRunner().invoke(app, ["classify", "-", "-"], input=CP1252)
    assert result.exit_code == 2 and "'-' (stdin) can be given only once" in result.stderr
    assert os.listdir(temp_folder) == []


def test_plain_text_on_stdin_is_one_note_classified_without_an_account(temp_folder: Path):
    result = classify_stdin("We will not renew our contract in March. We will not renew our contract in March.\n".encode())
    assert result.exit_code == 0, result.stderr
    (output,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert "churn_intent" in output["labels"]
    assert len(output["evidence"]["churn_intent"]) == len(set(output["evidence"]["churn_intent"]))  # a line said twice is one quote
