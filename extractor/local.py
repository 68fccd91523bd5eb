"""The offline classifier: two light heads over each sentence, max-pooled to the document.

A semantic head reads the sentence embedding with its neighbours; a lexical head reads hashed
character n-grams of the same window. Their probabilities are averaged per sentence. The document
score is the best sentence's, blended with a document-level head on the mean embedding (the
gist of a note that no single sentence carries); a document carries a signal when that score
passes the signal's calibrated threshold, and its best sentences are the verbatim evidence.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from undertow.extractor import lexical
from undertow.extractor.results import Classification, Evidence, SignalFlag
from undertow.extractor.sentences import EmbeddedText
from undertow.settings import home_from_env

BUNDLED_MODEL = "model/local.npz"
MAX_EVIDENCE = 2


def sentence_features(vectors: np.ndarray, context: str) -> np.ndarray:
    """Features of each sentence. 'window' adds the mean of its neighbours, so a terse 'ok.' or
    a pronoun ('she is leaving') is read with what surrounds it."""
    if context == "none":
        return vectors
    if context == "window":
        padded = np.vstack([np.zeros_like(vectors[:1]), vectors, np.zeros_like(vectors[:1])])
        neighbours = (padded[:-2] + padded[2:]) / 2.0
        return np.hstack([vectors, neighbours])
    if context == "doc":
        mean = np.broadcast_to(vectors.mean(axis=0, keepdims=True), vectors.shape)
        return np.hstack([vectors, mean])
    raise ValueError(f"unknown context mode {context!r}")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))


@dataclass
class LocalModel:
    signals: list[str]
    weights: list[np.ndarray]
    biases: list[np.ndarray]
    thresholds: np.ndarray
    embed_model: str
    context: str = "window"
    meta: dict = field(default_factory=dict)
    lexical_weights: np.ndarray | None = None  # (hashed n-grams x signals)
    lexical_bias: np.ndarray | None = None
    idf: np.ndarray | None = None
    lexical_share: float = 0.5
    doc_weights: np.ndarray | None = None  # (embedding dim x signals), on the mean sentence vector
    doc_bias: np.ndarray | None = None
    doc_share: float = 0.2

    @property
    def version(self) -> str:
        return self.meta.get("version", "untrained")

    def semantic_scores(self, vectors: np.ndarray) -> np.ndarray:
        """(sentences x signals) probabilities; a ReLU network whose last layer is per-signal logistic."""
        hidden = vectors.astype(np.float32)
        for layer, (w, b) in enumerate(zip(self.weights, self.biases)):
            hidden = hidden @ w + b
            if layer < len(self.weights) - 1:
                hidden = np.maximum(hidden, 0.0)
        return _sigmoid(hidden)

    def scores(self, embedded: list[EmbeddedText]) -> list[tuple[np.ndarray, np.ndarray]]:
        """(per-sentence scores, per-document scores) for each document, computed as one batch:
        a nightly run classifies thousands of documents and per-document calls cost more than the maths."""
        if not embedded:
            return []
        lengths = [len(e.sentences) for e in embedded]
        sentence_scores = self.semantic_scores(np.vstack([sentence_features(e.vectors, self.context) for e in embedded]))
        if self.lexical_weights is not None:
            x = lexical.features([[s.text for s in e.sentences] for e in embedded], self.idf)
            lexical_scores = _sigmoid(np.asarray(x @ self.lexical_weights) + self.lexical_bias)
            sentence_scores = (1 - self.lexical_share) * sentence_scores + self.lexical_share * lexical_scores
        per_document = np.split(sentence_scores, np.cumsum(lengths)[:-1])
        best = np.array([scores.max(axis=0) for scores in per_document])
        if self.doc_weights is not None:
            means = np.array([e.vectors.mean(axis=0) for e in embedded])
            means /= np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
            best = (1 - self.doc_share) * best + self.doc_share * _sigmoid(means @ self.doc_weights + self.doc_bias)
        return list(zip(per_document, best))

    def document_scores(self, embedded: EmbeddedText) -> tuple[np.ndarray, np.ndarray]:
        return self.scores([embedded])[0]

    def classify_many(self, doc_ids: list[str], embedded: list[EmbeddedText]) -> list[Classification]:
        return [self._decide(doc_id, emb, *scored) for doc_id, emb, scored in zip(doc_ids, embedded, self.scores(embedded))]

    def classify(self, doc_id: str, embedded: EmbeddedText) -> Classification:
        return self.classify_many([doc_id], [embedded])[0]

    def _decide(self, doc_id: str, embedded: EmbeddedText, scores: np.ndarray, doc_scores: np.ndarray) -> Classification:
        flags = []
        for k, signal in enumerate(self.signals):
            if doc_scores[k] < self.thresholds[k]:
                continue
            ranked = np.argsort(-scores[:, k])[:MAX_EVIDENCE]
            # The best sentence always explains the flag; a second one only if it is as strong.
            chosen = [ranked[0]] + [i for i in ranked[1:] if scores[i, k] >= max(self.thresholds[k], 0.9 * scores[ranked[0], k])]
            evidence = [
                Evidence(quote=embedded.sentences[i].text, start=embedded.sentences[i].start, end=embedded.sentences[i].end)
                for i in sorted(chosen)
            ]
            flags.append(SignalFlag(signal=signal, confidence=_calibrated(doc_scores[k], self.thresholds[k]), evidence=evidence))
        confidence = {signal: _calibrated(doc_scores[k], self.thresholds[k]) for k, signal in enumerate(self.signals)}
        return Classification(doc_id=doc_id, flags=flags, confidence=confidence, backend="local", model_version=self.version)

    # --- persistence ---------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f"w{i}": w for i, w in enumerate(self.weights)} | {f"b{i}": b for i, b in enumerate(self.biases)}
        if self.lexical_weights is not None:
            arrays |= {"lexical_w": self.lexical_weights, "lexical_b": self.lexical_bias, "idf": self.idf}
        if self.doc_weights is not None:
            arrays |= {"doc_w": self.doc_weights, "doc_b": self.doc_bias}
        header = {
            "signals": self.signals,
            "thresholds": [float(t) for t in self.thresholds],
            "embed_model": self.embed_model,
            "context": self.context,
            "layers": len(self.weights),
            "lexical_share": self.lexical_share,
            "doc_share": self.doc_share,
            "meta": self.meta,
        }
        # float16 halves the file; the scores move by less than 1e-3.
        np.savez_compressed(
            path, header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8), **{k: v.astype(np.float16) for k, v in arrays.items()}
        )

    @classmethod
    def load(cls, path: Path) -> "LocalModel":
        with np.load(path) as data:
            header = json.loads(bytes(data["header"]).decode())
            weights = [data[f"w{i}"].astype(np.float32) for i in range(header["layers"])]
            biases = [data[f"b{i}"].astype(np.float32) for i in range(header["layers"])]
            lexical_arrays = {k: data[k].astype(np.float32) for k in ("lexical_w", "lexical_b", "idf", "doc_w", "doc_b") if k in data}
        return cls(
            signals=header["signals"],
            weights=weights,
            biases=biases,
            thresholds=np.asarray(header["thresholds"], dtype=np.float32),
            embed_model=header["embed_model"],
            context=header["context"],
            meta=header["meta"],
            lexical_weights=lexical_arrays.get("lexical_w"),
            lexical_bias=lexical_arrays.get("lexical_b"),
            idf=lexical_arrays.get("idf"),
            lexical_share=header.get("lexical_share", 0.5),
            doc_weights=lexical_arrays.get("doc_w"),
            doc_bias=lexical_arrays.get("doc_b"),
            doc_share=header.get("doc_share", 0.2),
        )


def _calibrated(score: float, threshold: float) -> float:
    """Map a raw score onto 0..1 so that the signal's threshold sits at 0.5 for every signal."""
    score, threshold = float(score), float(min(max(threshold, 1e-6), 1 - 1e-6))
    if score < threshold:
        return round(0.5 * score / threshold, 4)
    return round(0.5 + 0.5 * (score - threshold) / (1 - threshold), 4)


def user_model_path() -> Path:
    return home_from_env() / "models" / "local.npz"


def bundled_model_path() -> Path:
    return Path(str(resources.files("undertow.extractor").joinpath(BUNDLED_MODEL)))


def load_local_model(path: Path | None = None) -> LocalModel:
    """The model `undertow train` made for this home, else the one shipped in the package."""
    for candidate in [path] if path else [user_model_path(), bundled_model_path()]:
        if candidate is not None and candidate.exists():
            return LocalModel.load(candidate)
    raise FileNotFoundError(
        f"no local classifier at {path or bundled_model_path()}: run `undertow train` to build one"
    )
