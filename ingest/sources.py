"""Which reader reads which file, for files and whole folders."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from undertow.ingest.items import ReadFailure, ReadItem
from undertow.ingest.jsonl import read_jsonl
from undertow.ingest.mail import read_eml, read_mbox
from undertow.ingest.notes import read_note
from undertow.ingest.tabular import read_csv

SUFFIXES = {".jsonl", ".ndjson", ".csv", ".eml", ".mbox", ".txt", ".md", ".markdown"}


@dataclass
class ReadOptions:
    defaults: dict = field(default_factory=dict)  # e.g. {"account_id": ...} from --account
    column_map: dict[str, str] = field(default_factory=dict)
    own_domains: set[str] = field(default_factory=set)


def list_files(paths: list[Path]) -> Iterator[Path | ReadFailure]:
    for path in paths:
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")):
                if child.suffix.lower() in SUFFIXES or child.name.lower() == "mbox":
                    yield child
        elif path.is_file():
            yield path
        else:
            yield ReadFailure(str(path), None, "no such file or folder")


def read_file(path: Path, options: ReadOptions, root: Path) -> Iterator[ReadItem]:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        yield from read_jsonl(path, options.defaults)
    elif suffix == ".csv":
        yield from read_csv(path, options.defaults, options.column_map)
    elif suffix == ".eml":
        yield from read_eml(path, options.defaults, options.own_domains)
    elif suffix == ".mbox" or path.name.lower() == "mbox":
        yield from read_mbox(path, options.defaults, options.own_domains)
    elif suffix in (".txt", ".md", ".markdown"):
        yield from read_note(path, options.defaults, root)
    else:
        yield ReadFailure(str(path), None, f"unsupported file type {suffix or '(none)'}: use .jsonl, .csv, .eml, .mbox, .txt or .md")


def read_all(paths: list[Path], options: ReadOptions, on_file: Callable[[str, int, int], None] | None = None) -> Iterator[ReadItem]:
    """Every document and every failure under `paths`; `on_file(path, index, total)` before each file."""
    files = list(list_files(paths))
    for index, entry in enumerate(files):
        if isinstance(entry, ReadFailure):
            yield entry
            continue
        if on_file:
            on_file(str(entry), index, len(files))
        root = next((p for p in paths if p.is_dir() and entry.is_relative_to(p)), entry.parent)
        try:
            yield from read_file(entry, options, root)
        except (OSError, UnicodeError) as error:
            yield ReadFailure(str(entry), None, f"cannot read: {error}")
    if on_file:
        on_file("done", len(files), len(files))
