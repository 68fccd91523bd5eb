"""Documents as sentences with vectors: the unit the local classifier scores and quotes."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from undertow.extractor.embedding import Embedder
from undertow.text import Sentence, split_sentences


@dataclass
class EmbeddedText:
    text: str
    sentences: list[Sentence]
    vectors: np.ndarray  # one row per sentence

    @property
    def spans(self) -> list[tuple[int, int]]:
        return [(s.start, s.end) for s in self.sentences]

    @classmethod
    def from_spans(cls, text: str, spans: list[tuple[int, int]], vectors: np.ndarray) -> "EmbeddedText":
        return cls(text, [Sentence(a, b, text[a:b]) for a, b in spans], vectors)

    @classmethod
    def from_stored(cls, row: dict) -> "EmbeddedText":
        """A document as the record store keeps it: text, sentence spans (JSON) and float16 vectors."""
        spans = [tuple(span) for span in json.loads(row["sentence_spans"])]
        vectors = np.frombuffer(row["sentence_vectors"], dtype=np.float16).reshape(len(spans), -1).astype(np.float32)
        return cls.from_spans(row["text"], spans, vectors)


def sentences_of(text: str, language: str | None = None) -> list[Sentence]:
    return split_sentences(text, language) or [Sentence(0, len(text), text)]


def embed_texts(texts: list[str], embedder: Embedder, languages: list[str] | None = None) -> list[EmbeddedText]:
    """Split every text and embed all their sentences in one call (batching is where speed is).
    `languages`, when the caller knows them (ingestion has just detected them), saves detecting
    each text's language again to split it."""
    split = [sentences_of(text, language) for text, language in zip(texts, languages or [None] * len(texts))]
    flat = [s.text for sentences in split for s in sentences]
    vectors = embedder.embed(flat)
    out, offset = [], 0
    for text, sentences in zip(texts, split):
        out.append(EmbeddedText(text, sentences, vectors[offset : offset + len(sentences)]))
        offset += len(sentences)
    return out


def sentences_quoting(embedded: EmbeddedText, quotes: list[str]) -> list[int]:
    """Indices of the sentences that overlap any occurrence of any of `quotes` (evidence is
    verbatim, but a quote may span sentences or cover only part of one)."""
    found = set()
    for quote in quotes:
        start = embedded.text.find(quote) if quote else -1
        while start >= 0:
            end = start + len(quote)
            found.update(i for i, sentence in enumerate(embedded.sentences) if sentence.start < end and start < sentence.end)
            start = embedded.text.find(quote, start + 1)
    return sorted(found)


def document_vector(embedded: EmbeddedText) -> np.ndarray:
    """The document's vector, for retrieval and the document-level heads: the normalised mean of its sentences."""
    mean = embedded.vectors.mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)
