"""Classifier backends: one base class, found by name through entry points like any plugin.

A package adds a backend by subclassing `Classifier` and declaring it in its own metadata:

    [project.entry-points."undertow.backends"]
    mine = "my_package.module:MyClassifier"

undertow's own backends (local, llm, hybrid) are declared the same way in pyproject.toml.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from importlib.metadata import EntryPoint, PackageNotFoundError, distribution, entry_points
from typing import ClassVar

from undertow.documents import Document
from undertow.extractor.results import Classification
from undertow.extractor.sentences import EmbeddedText
from undertow.settings import Settings

ENTRY_POINT_GROUP = "undertow.backends"

# Read only when undertow's own package metadata is missing (the source tree on sys.path without
# `pip install -e .`): there the entry points in pyproject.toml were never registered, and the
# built-in backends must still work. Installed, they come from the entry points like a plugin's.
BUILT_IN_BACKENDS = {
    "local": "undertow.extractor.local_backend:LocalClassifier",
    "llm": "undertow.extractor.llm:LLMClassifier",
    "hybrid": "undertow.extractor.hybrid:HybridClassifier",
}
# undertow/nightly/config.py validates backend names against this; available_backends() also
# knows plugins, and is what it should call.
BACKENDS = BUILT_IN_BACKENDS


class Classifier(ABC):
    """What every backend is. `stats` and `summary()` have defaults, so a caller never has to
    ask whether a backend has them."""

    name: ClassVar[str]

    @classmethod
    @abstractmethod
    def from_settings(cls, settings: Settings) -> Classifier:
        """The backend as configured for this home; raises ValueError with the fix when the
        configuration cannot work (an LLM backend without an endpoint)."""

    @abstractmethod
    def classify(self, docs: list[Document], embedded: list[EmbeddedText] | None = None) -> list[Classification]:
        """One Classification per document, in order. `embedded` saves re-embedding when the
        caller (ingestion) already has the sentence vectors."""

    @property
    def stats(self) -> dict:
        """Figures for the run's record (tokens, cost, fallbacks...); a JSON-able snapshot.
        A backend with nothing to report, like the local one, returns an empty dict."""
        return {}

    def summary(self) -> str | None:
        """One line for the end of a run, or None when there is nothing worth saying."""
        return None


def backend_entry_points() -> dict[str, EntryPoint]:
    found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    if _undertow_installed():
        return found
    built_in = {name: EntryPoint(name, value, ENTRY_POINT_GROUP) for name, value in BUILT_IN_BACKENDS.items()}
    return {**built_in, **found}


def available_backends() -> list[str]:
    return sorted(backend_entry_points())


def backend_class(name: str) -> type[Classifier]:
    registered = backend_entry_points()
    if name not in registered:
        raise ValueError(f"unknown backend {name!r}: choose one of {', '.join(sorted(registered))}")
    entry_point = registered[name]
    cls = entry_point.load()
    if not (isinstance(cls, type) and issubclass(cls, Classifier)):
        # A plugin's mistake, named so its author can find it.
        raise TypeError(f"backend {name!r} ({entry_point.value}) is not a subclass of undertow.extractor.backends.Classifier")
    return cls


def make_classifier(name: str, settings: Settings) -> Classifier:
    return backend_class(name).from_settings(settings)


def _undertow_installed() -> bool:
    try:
        distribution("undertow")
    except PackageNotFoundError:
        return False
    return True
