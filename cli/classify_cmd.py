"""`undertow classify INPUT...`"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from undertow.cli.common import BackendOption, HomeOption, NoRedactOption, err_console, is_terminal, notice, settings_for
from undertow.cli.progress import FileProgress
from undertow.errors import InputError
from undertow.services.evaluation import classify as run_classify


def classify(
    inputs: Annotated[
        list[Path],
        typer.Argument(metavar="INPUT...", help="Files or folders (.jsonl, .csv, .eml, .mbox, .txt, .md); '-' reads stdin: JSONL, or else one plain-text note."),
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
    with _stdin_as_file(inputs) as (paths, on_notice), FileProgress("Classifying", enabled=is_terminal()) as progress:
        result = run_classify(settings, paths, backend=backend, account=account, on_notice=on_notice, redact=False if no_redact else None,
                              on_progress=progress.update)
    for output in result.outputs:
        sys.stdout.write(json.dumps(output, ensure_ascii=False) + "\n")
    if result.classifier_note:
        err_console.print(result.classifier_note, highlight=False, markup=False)
    if result.rejected:
        err_console.print(f"{result.rejected} input line(s) or file(s) rejected; {len(result.outputs)} documents classified", highlight=False)
        raise typer.Exit(1)


@contextmanager
def _stdin_as_file(inputs: list[Path]) -> Iterator[tuple[list[Path], Callable[[str], None]]]:
    """The inputs with '-' as a file holding stdin's bytes, which the readers decode, guess and
    refuse as they do a file's (read as text here, a Latin-1 byte became a surrogate no file
    can hold); and `notice` calling that file `<stdin>`, since its name means nothing to the user.

    The file holds customer text: it is in a folder only this user can read, and is removed
    however the command ends (an error, Ctrl-C)."""
    dashes = sum(str(path) == "-" for path in inputs)
    if dashes > 1:
        raise InputError("'-' (stdin) can be given only once")
    if not dashes:
        yield list(inputs), notice
        return
    with tempfile.TemporaryDirectory(prefix="undertow-stdin-") as folder:
        data = sys.stdin.buffer.read()
        # JSONL when a line starts as a JSON object does; otherwise one plain-text note (`echo ... |`).
        jsonl = any(line.lstrip().startswith(b"{") for line in data.splitlines())
        stdin = Path(folder) / ("stdin.jsonl" if jsonl else "stdin.txt")
        with open(os.open(stdin, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
            handle.write(data)
        yield [stdin if str(path) == "-" else path for path in inputs], lambda line: notice(line.replace(str(stdin), "<stdin>"))
