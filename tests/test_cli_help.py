"""Every command explains itself, and the README names only commands that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from undertow.cli.app import app

COMMANDS = sorted(get_command(app).commands)
README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help(name):
    result = CliRunner().invoke(app, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert get_command(app).commands[name].help, f"`undertow {name}` has no description"


def test_readme_mentions_only_real_commands_and_every_command():
    mentioned = set(re.findall(r"undertow ([a-z]+)", README))
    assert mentioned - set(COMMANDS) == set(), "the README names a command that does not exist"
    assert set(COMMANDS) - mentioned == set(), "a command is missing from the README"
