"""The `local` backend: the bundled multilingual embedder plus the trained head."""

from __future__ import annotations

from undertow.documents import Document
from undertow.extractor.backends import Classifier
from undertow.extractor.embedding import Embedder, local_embedder, same_space
from undertow.extractor.local import LocalModel, load_local_model, model_path_for
from undertow.extractor.results import Classification
from undertow.extractor.sentences import EmbeddedText, embed_texts
from undertow.settings import Settings


class LocalClassifier(Classifier):
    """Reports no stats and no summary: it costs nothing and never falls back."""

    name = "local"

    def __init__(self, model: LocalModel | None = None, embedder: Embedder | None = None):
        self.model = model or load_local_model()
        self.embedder = embedder or local_embedder()
        if not same_space(self.embedder.name, self.model.embed_model):
            raise ValueError(
                f"the local classifier was trained on {self.model.embed_model} vectors but the embedder is "
                f"{self.embedder.name}; run `undertow train` with this embedder"
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> "LocalClassifier":
        return cls(load_local_model(model_path_for(settings)))

    @property
    def model_version(self) -> str:
        return self.model.version

    def classify(self, docs: list[Document], embedded: list[EmbeddedText] | None = None) -> list[Classification]:
        embedded = embedded if embedded is not None else embed_texts([d.text for d in docs], self.embedder)
        return self.model.classify_many([doc.id for doc in docs], embedded)
