"""Which reader reads which file, for files and whole folders; one file's failure never ends a run."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

from undertow.ingest.counting import count_documents
from undertow.ingest.decode import RejectedInput
from undertow.ingest.items import ReadDocument, ReadFailure, ReadItem, ReadOptions, SkippedFile
from undertow.ingest.jsonl import read_jsonl
from undertow.ingest.mail import read_eml, read_mbox
from undertow.ingest.notes import read_note
from undertow.ingest.tabular import read_csv

__all__ = ["ReadOptions", "SUFFIXES", "list_files", "read_all", "read_file"]

log = logging.getLogger(__name__)

SUFFIXES = {".jsonl", ".ndjson", ".csv", ".tsv", ".eml", ".mbox", ".txt", ".md", ".markdown", ".pdf", ".docx"}


def list_files(paths: list[Path]) -> Iterator[Path | ReadFailure | SkippedFile]:
    for path in paths:
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")):
                if child.suffix.lower() in SUFFIXES or child.name.lower() == "mbox":
                    yield child
                else:
                    yield SkippedFile(str(child), _unsupported(child))
        elif path.is_file():
            yield path
        else:
            yield ReadFailure(str(path), None, "no such file or folder")


def _unsupported(path: Path) -> str:
    return f"unsupported file type {path.suffix or '(none)'}: use {', '.join(sorted(SUFFIXES))} or an mbox"


def read_file(path: Path, options: ReadOptions) -> Iterator[ReadItem]:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        yield from read_jsonl(path, options)
    elif suffix in (".csv", ".tsv"):
        yield from read_csv(path, options)
    elif suffix == ".eml":
        yield from read_eml(path, options)
    elif suffix == ".mbox" or path.name.lower() == "mbox":
        yield from read_mbox(path, options)
    elif suffix in (".txt", ".md", ".markdown"):
        yield from read_note(path, options)
    elif suffix in (".pdf", ".docx"):
        from undertow.ingest.office import read_office  # pypdf and python-docx load only when needed

        yield from read_office(path, options)
    else:
        yield ReadFailure(str(path), None, _unsupported(path))


ProgressCallback = Callable[[str, int, int], None]  # (where, documents read, documents in all)


def read_all(paths: list[Path], options: ReadOptions, on_progress: ProgressCallback | None = None) -> Iterator[ReadItem]:
    """Every document and every failure under `paths`, with progress counted in documents."""
    files = list(list_files(paths))
    total = sum(count_documents(f) for f in files if isinstance(f, Path))
    done = 0
    for entry in files:
        if not isinstance(entry, Path):
            yield entry
            continue
        for item in _read_guarded(entry, options):
            if isinstance(item, ReadDocument):
                done += 1
                if on_progress:
                    on_progress(item.origin, done, max(total, done))
            yield item
    if on_progress:
        on_progress("done", done, max(total, done))


def _read_guarded(path: Path, options: ReadOptions) -> Iterator[ReadItem]:
    """A file that cannot be read, or a reader bug on one file, becomes one failure for that file."""
    try:
        yield from read_file(path, options)
    except RejectedInput as rejection:
        yield ReadFailure(str(path), None, str(rejection))
    except (OSError, UnicodeError) as error:
        yield ReadFailure(str(path), None, f"cannot read: {error}")
    except Exception as error:  # noqa: BLE001 - one strange file must not cost the night's run
        log.exception("reading %s failed", path)
        yield ReadFailure(str(path), None, f"could not be read ({type(error).__name__}: {error}); the rest of the run goes on")
