"""Classifier backends behind one interface, registered by name like any plugin would be."""

from __future__ import annotations

import importlib
from typing import Protocol

from undertow.documents import Document
from undertow.extractor.results import Classification
from undertow.extractor.sentences import EmbeddedText
from undertow.settings import Settings


class Classifier(Protocol):
    name: str

    def classify(self, docs: list[Document], embedded: list[EmbeddedText] | None = None) -> list[Classification]:
        """One Classification per document, in order. `embedded` saves re-embedding when the
        caller (ingestion) already has the sentence vectors."""
        ...


BACKENDS = {
    "local": "undertow.extractor.local_backend:LocalClassifier",
    "llm": "undertow.extractor.llm:LLMClassifier",
    "hybrid": "undertow.extractor.hybrid:HybridClassifier",
}


def make_classifier(name: str, settings: Settings) -> Classifier:
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}: choose one of {', '.join(BACKENDS)}")
    module_name, _, class_name = BACKENDS[name].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls.from_settings(settings)
