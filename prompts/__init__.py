"""Versioned prompt files and the signal definitions shared by every backend."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, Field


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


def read_text(name: str) -> str:
    """A file that ships in this package (prompt templates, playbooks)."""
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _parse_signals(text: str, origin: str) -> list[SignalDefinition]:
    data = yaml.safe_load(text) or {}
    if not isinstance(data.get("signals"), list):
        raise ValueError(f"{origin}: expected a top-level 'signals:' list")
    return [SignalDefinition.model_validate(item) for item in data["signals"]]


def load_signals(extra_file: Path | None = None) -> list[SignalDefinition]:
    """The bundled signals, extended or overridden by `extra_file` (a home's `settings.signals_file`)."""
    if extra_file is None:
        return list(_load_signals_cached("", 0.0))
    return list(_load_signals_cached(str(extra_file), _mtime(extra_file)))


def _mtime(path: Path) -> float:
    return path.stat().st_mtime if path.exists() else 0.0


@lru_cache(maxsize=8)
def _load_signals_cached(extra_file: str, _mtime_key: float) -> tuple[SignalDefinition, ...]:
    signals = {s.name: s for s in _parse_signals(read_text("signals.yaml"), "signals.yaml")}
    path = Path(extra_file) if extra_file else None
    if path is not None and path.exists():
        for signal in _parse_signals(path.read_text(encoding="utf-8"), str(path)):
            signals[signal.name] = signal
    return tuple(signals.values())


def signal_names(extra_file: Path | None = None) -> list[str]:
    return [s.name for s in load_signals(extra_file)]
