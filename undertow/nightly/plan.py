"""`nightly --dry-run`: what a run would read and write, checked as a run checks it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from undertow.errors import EXIT_INPUT_REJECTED, EXIT_OK
from undertow.nightly.config import NightlyConfig, check_accounts_export, load_scorecard

# --- the dry run ---------------------------------------------------------------------------------


@dataclass
class PlannedSource:
    name: str
    files: list[Path]
    missing: list[str]  # paths that are neither a file nor a folder
    ignored: list[str] = field(default_factory=list)  # files in a folder that are not exports, with why

    def as_dict(self) -> dict:
        return {"name": self.name, "files": [str(f) for f in self.files], "missing": self.missing, "ignored": self.ignored}


@dataclass
class Plan:
    config_path: Path
    home: Path
    backend: str
    sources: list[PlannedSource]
    accounts_path: Path
    account_rows: int
    as_of: dt.date
    outputs: dict[str, str | None]
    workers: int = 1

    @property
    def exit_code(self) -> int:
        return EXIT_INPUT_REJECTED if any(s.missing for s in self.sources) else EXIT_OK

    def as_dict(self) -> dict:
        return {
            "dry_run": True,
            "config": str(self.config_path),
            "home": str(self.home),
            "backend": self.backend,
            "workers": self.workers,
            "sources": [s.as_dict() for s in self.sources],
            "accounts": {"path": str(self.accounts_path), "rows": self.account_rows, "as_of": self.as_of.isoformat()},
            "outputs": self.outputs,
            "exit_code": self.exit_code,
        }


def plan(config: NightlyConfig, config_path: Path) -> Plan:
    """What a run would read and write, checked as a run checks it, with nothing written."""
    from undertow.ingest.items import ReadFailure
    from undertow.ingest.sources import list_files

    home = config.resolved_home()
    load_scorecard(config, home)
    rows = check_accounts_export(config)
    sources = []
    for source in config.sources:
        entries = list(list_files(source.paths))
        sources.append(PlannedSource(
            source.label,
            [e for e in entries if isinstance(e, Path)],
            [e.path for e in entries if isinstance(e, ReadFailure)],
            [str(e) for e in entries if not isinstance(e, (Path, ReadFailure))],
        ))
    outputs = {"annotated": str(config.outputs.annotated), "summary": str(config.outputs.summary) if config.outputs.summary else None}
    return Plan(config_path, home, config.backend, sources, config.accounts.path, rows, config.accounts.day(), outputs, config.workers)
