"""The demo portfolio for the workspace's tests: built once per test module (embedding its
documents takes seconds), scored as `undertow serve --demo` scores it."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

DEMO_ACCOUNTS = 16


def build_demo(folder: Path):
    """Settings of a home holding the demo portfolio, and the Workspace over it."""
    from undertow.services.demo import demo
    from undertow.services.workspace import Workspace, demo_accounts
    from undertow.settings import load_settings

    settings = load_settings(folder)
    demo(settings, folder / "demo", accounts=DEMO_ACCOUNTS)
    accounts_csv, day = demo_accounts(settings)
    return settings, Workspace(settings, accounts_csv, as_of=day)


def annotate_json(workspace) -> dict:
    """What `undertow annotate --json` prints for the workspace's export and day (nothing stored)."""
    from undertow.cli.app import app

    result = CliRunner().invoke(app, ["annotate", str(workspace.accounts_csv), "--as-of", workspace.as_of.isoformat(), "--no-snapshot",
                                      "--json", "--home", str(workspace.settings.resolved_home)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def expected_figures(rows: list[dict]) -> dict:
    """The portfolio's headline figures, added up from annotate's rows."""
    return {
        "accounts": len(rows),
        "review": sum(1 for r in rows if r["review"]),
        "arr_at_risk": sum(r["arr_at_risk"] or 0.0 for r in rows),
        "arr_total": sum(float(r["arr"]) for r in rows if r.get("arr")),
    }
