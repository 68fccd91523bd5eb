"""`undertow ingest PATH...`"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from undertow.cli.common import HomeOption, JsonOption, NoRedactOption, err_console, is_terminal, notice, parse_mapping, print_json, settings_for
from undertow.cli.progress import FileProgress
from undertow.services.ingest import ingest as run_ingest


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders: .jsonl .csv .eml .mbox .txt .md")],
    home: HomeOption = None,
    account: Annotated[str | None, typer.Option(help="Account id for inputs that do not say (notes, emails).")] = None,
    column_map: Annotated[list[str], typer.Option("--map", help="CSV column for a field, FIELD=COLUMN; repeatable.")] = [],
    own_domain: Annotated[list[str], typer.Option(help="Your company's e-mail domain(s), so the customer side is found.")] = [],
    backend: Annotated[str, typer.Option(help="Classifier: local (offline), llm or hybrid.")] = "local",
    dayfirst: Annotated[bool | None, typer.Option("--dayfirst/--monthfirst", help="How to read dates such as 03/11/2026 (default: day first, with a warning).", show_default=False)] = None,
    date_format: Annotated[str | None, typer.Option(help="Exact date format of the exports, e.g. '%m/%d/%Y %H:%M'.")] = None,
    max_chars: Annotated[int | None, typer.Option(help="Longest text kept per document; longer ones are cut at a sentence end (default 100000).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Processes that embed, each with its share of the cores; this one classifies and writes.")] = 1,
    as_json: JsonOption = False,
    no_redact: NoRedactOption = False,
) -> None:
    """Read exports into the store: idempotent, incremental and safe to re-run after a crash."""
    settings = settings_for(home)
    mapping = parse_mapping(column_map)
    with FileProgress("Ingesting", enabled=is_terminal()) as progress:
        result = run_ingest(
            settings, paths, backend=backend, account=account, column_map=mapping, own_domains=own_domain, dayfirst=dayfirst,
            date_format=date_format, max_chars=max_chars, on_progress=progress.update, on_notice=notice, redact=False if no_redact else None, workers=workers,
            on_failure=lambda failure: err_console.print(f"rejected {failure}", style="yellow", highlight=False, soft_wrap=True, markup=False),
        )
    summary = result.summary
    if as_json:
        print_json(summary.as_dict())
    else:
        err_console.print(
            f"read {summary.read}, new {summary.new}, updated {summary.updated}, unchanged {summary.skipped}, "
            f"duplicates {summary.duplicates}, failed {summary.failed}, warnings {summary.warnings}, "
            f"flagged {summary.flagged} in {summary.seconds:.1f}s"
            + (f"; bad input quarantined in {result.quarantine}" if summary.failed else ""),
            highlight=False, soft_wrap=True,  # one line, for the log a cron job keeps
        )
    if result.classifier_note:
        err_console.print(result.classifier_note, highlight=False)
    # cron reads the exit code: 1 means some input was rejected, the rest is stored.
    raise typer.Exit(1 if summary.failed else 0)
