"""A home folder, the composition root of a command: it opens the record store, the vector store,
the embedding model, and the signals, scorecard, playbook and classifier model that this home
uses (the bundled ones, extended by the files in the home)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from undertow.extractor.embedding import Embedder, get_embedder
from undertow.private import make_private
from undertow.settings import Settings
from undertow.store.records import RecordStore
from undertow.store.vectors import VectorStore


@dataclass
class Home:
    settings: Settings
    _embedder: Embedder | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # A home made by an older version, or by code run without `undertow`'s umask, may be
        # world-readable; customer text must not stay that way once Undertow opens it.
        make_private(self.path)

    @property
    def path(self) -> Path:
        return self.settings.resolved_home

    @cached_property
    def records(self) -> RecordStore:
        return RecordStore(self.settings.sqlite_url)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            llm = self.settings.llm
            options = {}
            if self.settings.embedding == "openai":
                options = {"api_key": llm.api_key.get_secret_value() if llm.api_key else None, "base_url": llm.base_url}
            self._embedder = get_embedder(self.settings.embedding, **options)
        return self._embedder

    @cached_property
    def vectors(self) -> VectorStore:
        return VectorStore(self.embedder.name, path=self.path / "chroma", url=self.settings.chroma_url, records_url=self.settings.sqlite_url)

    @property
    def quarantine_dir(self) -> Path:
        folder = self.path / "quarantine"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    # --- what this home uses in place of (or on top of) what ships in the package ----------------
    @cached_property
    def signals(self) -> list:
        from undertow.prompts import load_signals

        return load_signals(self.settings.signals_file)

    @property
    def signal_names(self) -> list[str]:
        return [signal.name for signal in self.signals]

    def scorecard(self, explicit: Path | None = None):
        from undertow.health.config import load_home_config

        return load_home_config(self.settings, explicit)

    @cached_property
    def playbook(self):
        from undertow.ask.playbook import load_playbook

        return load_playbook(self.settings.playbook_file)

    @property
    def model_path(self) -> Path:
        from undertow.extractor.local import model_path_for

        return model_path_for(self.settings)
