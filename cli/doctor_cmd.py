"""`undertow doctor`"""

from __future__ import annotations

from typing import Annotated

import typer

from undertow.cli.common import HomeOption, JsonOption, err_console, is_terminal, out_console, print_json, settings_for, user_errors
from undertow.cli.progress import FileProgress
from undertow.errors import EXIT_OK, EXIT_USAGE


def doctor(
    rebuild_vectors: Annotated[
        bool,
        typer.Option(
            "--rebuild-vectors",
            help="Rebuild the vector index from the record store (no re-embedding); the old index is kept as chroma.damaged-<time>.",
        ),
    ] = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check that the store can be read back: record store, vector index, classifier model, permissions.

    Each check prints ok, or the problem and a one-line fix. Exit codes: 0 every check passed;
    2 a problem needs you (or bad usage)."""
    from undertow.store.doctor import diagnose
    from undertow.store.doctor import rebuild_vectors as rebuild

    settings = settings_for(home)
    rebuilt = None
    with user_errors():
        diagnosis = diagnose(settings)
        if rebuild_vectors and diagnosis.records_readable:
            with FileProgress("Rebuilding vectors", enabled=is_terminal()) as progress:
                rebuilt = rebuild(settings, on_progress=lambda done, total: progress.update("", done, total))
            diagnosis = diagnose(settings)
        elif rebuild_vectors:
            err_console.print("the vectors were not rebuilt: they come from the record store, which must be repaired first", highlight=False)
    if as_json:
        print_json({**diagnosis.as_dict(), "rebuilt": rebuilt.__dict__ if rebuilt else None})
    else:
        if rebuilt:
            aside = f"; the old index is in {rebuilt.moved_aside}" if rebuilt.moved_aside else ""
            err_console.print(f"rebuilt the vectors of {rebuilt.documents} documents in {rebuilt.seconds:.1f}s{aside}", highlight=False)
        for check in diagnosis.checks:
            out_console.print(f"{check.status:<8} {check.name:<13} {check.detail}", highlight=False, markup=False, soft_wrap=True)
            if check.fix:
                out_console.print(f"{'':<8} {'':<13} fix: {check.fix}", highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(EXIT_OK if diagnosis.ok else EXIT_USAGE)
