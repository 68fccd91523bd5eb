"""`undertow classify INPUT...`"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from undertow.cli.common import BackendOption, HomeOption, NoRedactOption, err_console, notice, settings_for
from undertow.services.evaluation import classify as run_classify


def classify(
    inputs: Annotated[
        list[Path],
        typer.Argument(metavar="INPUT...", help="Files or folders (.jsonl, .csv, .eml, .mbox, .txt, .md); '-' reads JSONL from stdin."),
    ],
    backend: BackendOption = "local",
    account: Annotated[str | None, typer.Option(help="Account id for documents that carry none (notes without front matter).")] = None,
    home: HomeOption = None,
    no_redact: NoRedactOption = False,
) -> None:
    """Classify documents and print one JSON line per document: id, labels, evidence, confidence.

    A bad line or file is reported as `file:line: reason` and skipped; the rest is classified
    and the exit code is 1."""
    settings = settings_for(home)
    paths = [_stdin_as_file() if str(path) == "-" else path for path in inputs]
    result = run_classify(settings, paths, backend=backend, account=account, on_notice=notice, redact=False if no_redact else None)
    for output in result.outputs:
        sys.stdout.write(json.dumps(output, ensure_ascii=False) + "\n")
    if result.classifier_note:
        err_console.print(result.classifier_note, highlight=False)
    if result.rejected:
        err_console.print(f"{result.rejected} input line(s) or file(s) rejected; {len(result.outputs)} documents classified", highlight=False)
        raise typer.Exit(1)


def _stdin_as_file() -> Path:
    """'-': the JSONL on stdin, in a file the readers can open like any other."""
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as tmp:
        tmp.write(sys.stdin.read())
    return Path(tmp.name)
