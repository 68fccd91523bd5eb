"""Versioned prompt files and the signal definitions shared by every backend."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, Field

from undertow.overlay import layers, validate

SIGNALS_FILE = "signals.yaml"
SIGNALS_HINT = "a signals file is a top-level `signals:` list of entries, each with a name and a definition"
_SECTION = re.compile(r"^<!-- (system|user) -->\n", re.MULTILINE)


class SignalExamples(BaseModel):
    positive: list[str] = Field(default_factory=list)
    negative: list[str] = Field(default_factory=list)


class SignalDefinition(BaseModel):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    definition: str
    not_: str = Field(default="", alias="not")
    severity: float = Field(default=0.8, ge=0, le=1)
    # When set, an account with this signal active is sent for review whatever its score, and
    # this is the reason shown (a customer saying it will leave needs a person even when green).
    review_reason: str = ""
    examples: SignalExamples = Field(default_factory=SignalExamples)


class SignalsFile(BaseModel):
    signals: list[SignalDefinition]


def read_text(name: str) -> str:
    """A file that ships in this package (prompt templates, playbooks)."""
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def read_sections(name: str) -> tuple[str, str]:
    """The system and the user message of the prompt file `name`.md, which marks them with
    `<!-- system -->` and `<!-- user -->` lines."""
    parts = _SECTION.split(read_text(f"{name}.md"))
    sections = dict(zip(parts[1::2], parts[2::2]))
    if set(sections) != {"system", "user"}:
        raise ValueError(f"prompt {name}.md needs a '<!-- system -->' and a '<!-- user -->' section")
    return sections["system"].strip(), sections["user"].strip()


def load_signals(extra_file: Path | None = None) -> list[SignalDefinition]:
    """The bundled signals, extended or overridden by `extra_file` (a home's `settings.signals_file`)."""
    if extra_file is None:
        return list(_load_signals_cached("", 0.0))
    return list(_load_signals_cached(str(extra_file), _mtime(extra_file)))


def _mtime(path: Path) -> float:
    return path.stat().st_mtime if path.exists() else 0.0


@lru_cache(maxsize=8)
def _load_signals_cached(extra_file: str, _mtime_key: float) -> tuple[SignalDefinition, ...]:
    """Each file is checked on its own (so an error names the right file and entry); a signal
    in the user's file replaces ours of the same name, a new one is added."""
    by_name: dict[str, SignalDefinition] = {}
    for data, origin in layers(read_text(SIGNALS_FILE), f"{SIGNALS_FILE} (bundled)", Path(extra_file) if extra_file else None):
        by_name |= {s.name: s for s in validate(SignalsFile, data, origin, hint=SIGNALS_HINT).signals}
    return tuple(by_name.values())


def signal_names(extra_file: Path | None = None) -> list[str]:
    return [s.name for s in load_signals(extra_file)]
