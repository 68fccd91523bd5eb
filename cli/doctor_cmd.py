"""`undertow doctor`"""

from __future__ import annotations

from typing import Annotated

import typer

from undertow.cli.common import HomeOption, JsonOption, err_console, is_terminal, out_console, print_json, settings_for
from undertow.cli.progress import FileProgress
from undertow.errors import EXIT_OK, EXIT_USAGE
from undertow.services.doctor import doctor as run_doctor


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
    settings = settings_for(home)
    with FileProgress("Rebuilding vectors", enabled=is_terminal() and rebuild_vectors) as progress:
        result = run_doctor(settings, rebuild_vectors=rebuild_vectors, on_progress=lambda done, total: progress.update("", done, total))
    if result.rebuild_refused:
        err_console.print("the vectors were not rebuilt: they come from the record store, which must be repaired first", highlight=False)
    rebuilt = result.rebuilt
    if as_json:
        print_json({**result.diagnosis.as_dict(), "rebuilt": rebuilt.__dict__ if rebuilt else None})
    else:
        if rebuilt:
            aside = f"; the old index is in {rebuilt.moved_aside}" if rebuilt.moved_aside else ""
            err_console.print(f"rebuilt the vectors of {rebuilt.documents} documents in {rebuilt.seconds:.1f}s{aside}", highlight=False)
        for check in result.diagnosis.checks:
            out_console.print(f"{check.status:<8} {check.name:<13} {check.detail}", highlight=False, markup=False, soft_wrap=True)
            if check.fix:
                out_console.print(f"{'':<8} {'':<13} fix: {check.fix}", highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(EXIT_OK if result.ok else EXIT_USAGE)

