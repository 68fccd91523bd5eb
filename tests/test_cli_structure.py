"""The CLI only parses options, calls a service and renders; typed errors are the only ones it
turns into a one-line message; `feedback` writes under the home's lock like every other writer."""

from __future__ import annotations

import ast
import datetime as dt
import inspect
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from undertow.cli.app import app
from undertow.errors import InputError, NotFound

CLI = Path(__file__).resolve().parents[1] / "cli"
MODULES = sorted(CLI.glob("*.py"))
MAX_LINES = 80
# What a command may use besides the standard library: the CLI toolkit, the services, the shared
# error and settings types, and the modules that render results for people.
THIRD_PARTY = {"typer", "rich", "click"}
UNDERTOW_ALLOWED = (
    "undertow.cli", "undertow.services", "undertow.errors", "undertow.settings",
    "undertow.documents",  # parse_date, behind --as-of and --since
    "undertow.health.report", "undertow.eval.report", "undertow.ask.render",
)


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_cli_modules_import_no_business_logic(path):
    """No store, vectors, classifier, readers, sqlalchemy, numpy or pandas: those are the services' business."""
    for name in _imports(path):
        top = name.split(".")[0]
        if top == "undertow":
            assert name.startswith(UNDERTOW_ALLOWED), f"{path.name} imports {name}: call a service in undertow.services instead"
        elif top not in sys.stdlib_module_names and top != "__future__":
            assert top in THIRD_PARTY, f"{path.name} imports {name}: only typer and rich belong in the CLI"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_long_cli_modules_only_render(path):
    """A command module stays short; a long rendering goes to a render_*.py module, which calls no service."""
    lines = len(path.read_text(encoding="utf-8").splitlines())
    if path.name.startswith("render_"):
        assert not any(name.startswith("undertow.services") for name in _imports(path)), f"{path.name} renders only"
    else:
        assert lines <= MAX_LINES or path.name == "common.py", f"{path.name} has {lines} lines: move its rendering to a render_*.py module"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_cli_modules_neither_raise_nor_swallow_value_errors(path):
    """A ValueError is caught only around one parser call (an option's value), never around a command."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            call = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            assert getattr(call, "id", None) != "ValueError", f"{path.name}:{node.lineno}: raise an UndertowError subclass"
        if isinstance(node, ast.Try):
            for handler in node.handlers:
                caught = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
                names = {getattr(c, "id", None) for c in caught}
                if names & {"ValueError", "Exception", None} and path.name != "app.py":  # app.main: the crash log
                    assert len(node.body) == 1 and not isinstance(node.body[0], (ast.Expr, ast.With)), (
                        f"{path.name}:{node.lineno}: catches {names} around more than one parser call"
                    )


def test_user_errors_maps_only_undertow_errors():
    from undertow.cli import app as app_module
    from undertow.cli import common

    for function in (common.user_errors, app_module.UndertowGroup.invoke):
        tree = ast.parse(inspect.getsource(function).lstrip())
        handlers = [node for node in ast.walk(tree) if isinstance(node, ast.ExceptHandler)]
        assert [getattr(h.type, "id", None) for h in handlers] in ([], ["UndertowError"])


# --- one place maps typed errors to exit codes ---------------------------------------------------
def _status_raising(monkeypatch, error: Exception):
    from undertow.cli import status_cmd

    def broken(settings):
        raise error

    monkeypatch.setattr(status_cmd, "home_status", broken)


def test_a_typed_error_is_one_line_with_its_exit_code(monkeypatch):
    _status_raising(monkeypatch, InputError("that option makes no sense"))
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 2 and not isinstance(result.exception, InputError)
    assert "error: that option makes no sense" in result.stderr and "Traceback" not in result.output

    class Gone(NotFound):
        exit_code = 1

    _status_raising(monkeypatch, Gone("nothing there"))
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 1 and "error: nothing there" in result.stderr


@pytest.mark.parametrize("message", ["no signal '[/churn]'", "no file b/set[v2].jsonl", 'add [llm.prices."m"] to config.toml'])
def test_an_error_message_is_printed_as_written_not_read_as_markup(monkeypatch, message):
    _status_raising(monkeypatch, InputError(message))
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 2 and f"error: {message}" in result.stderr


def test_a_plain_value_error_is_a_bug_not_a_user_error(monkeypatch, home, capsys):
    """A ValueError from pydantic, numpy or our own code is not turned into `error: ...`, exit 2."""
    _status_raising(monkeypatch, ValueError("operands could not be broadcast together"))
    result = CliRunner().invoke(app, ["status"])
    assert isinstance(result.exception, ValueError) and result.exit_code != 2
    assert "error:" not in result.stderr

    from undertow.cli import app as app_module

    monkeypatch.setattr(sys, "argv", ["undertow", "status"])
    with pytest.raises(SystemExit) as ended:
        app_module.main()
    assert ended.value.code == 3
    assert "internal error: ValueError: operands could not be broadcast together" in capsys.readouterr().err
    assert "Traceback" in (home / "logs" / "errors.log").read_text()


def test_a_crash_is_logged_in_the_home_the_command_was_given(monkeypatch, home, tmp_path, capsys):
    _status_raising(monkeypatch, ValueError("boom"))
    from undertow.cli import app as app_module

    other = tmp_path / "team-home"
    monkeypatch.setattr(sys, "argv", ["undertow", "status", "--home", str(other)])
    with pytest.raises(SystemExit):
        app_module.main()
    assert "Traceback" in (other / "logs" / "errors.log").read_text() and str(other / "logs") in capsys.readouterr().err
    assert not (home / "logs" / "errors.log").exists()


@pytest.mark.parametrize("name", ["ConfigError", "DatasetError", "StoreBusy", "AccountNotFound", "AmbiguousAccount", "AccountFileError", "LLMNotConfigured"])
def test_user_facing_errors_are_undertow_errors(name):
    from undertow.ask.resolve import AccountNotFound, AmbiguousAccount
    from undertow.errors import UndertowError
    from undertow.eval.datasets import DatasetError
    from undertow.extractor.llm import LLMNotConfigured
    from undertow.health.accounts import AccountFileError
    from undertow.health.config import ConfigError
    from undertow.store.lock import StoreBusy

    found = {cls.__name__: cls for cls in (ConfigError, DatasetError, StoreBusy, AccountNotFound, AmbiguousAccount, AccountFileError, LLMNotConfigured)}
    assert issubclass(found[name], UndertowError)
    assert found[name].exit_code == (1 if name == "AccountNotFound" else 2)


# --- feedback takes the lock ----------------------------------------------------------------------
def _store_one_document(settings) -> None:
    from undertow.store.records import RecordStore, StoredDocument

    row = {"id": "d-1", "account_id": "acme", "account_name": "", "source": "note", "date": None, "author": "", "language": "",
           "subject": "", "text": "hello", "content_hash": "h", "origin": "", "embed_model": "m", "run_id": None, "ingested_at": dt.datetime(2026, 1, 1)}
    RecordStore(settings.sqlite_url).save_documents([StoredDocument(row, [(0, 5)], np.zeros((1, 4), np.float32), [])])


def test_feedback_refuses_while_another_writer_holds_the_home(settings, home):
    from undertow.store.lock import exclusive
    from undertow.store.records import RecordStore

    _store_one_document(settings)
    runner = CliRunner()
    with exclusive(home, "ingest"):
        busy = runner.invoke(app, ["feedback", "d-1", "--reject", "budget_pressure"])
    assert busy.exit_code == 2 and "is busy: `undertow ingest`" in busy.stderr
    assert RecordStore(settings.sqlite_url).feedback() == []

    done = runner.invoke(app, ["feedback", "d-1", "--reject", "budget_pressure"])
    assert done.exit_code == 0, done.output
    assert [(f["signal"], f["present"]) for f in RecordStore(settings.sqlite_url).feedback()] == [("budget_pressure", False)]
