"""The offline classifier: light first-stage heads over each sentence and each document, and a
per-signal combiner over them.

First stage: a semantic head reads each sentence embedding with its neighbours, and a lexical
head reads hashed character n-grams of the same window; a document-level semantic head reads the
mean embedding and a document-level lexical head the whole text's n-grams (the gist of a note, or
a vendor hand-over, that no single sentence carries). Second stage (`stacking`): a logistic
combiner per signal turns those scores into the document's score; a document carries a signal
when it passes the signal's calibrated threshold, and its best sentences are the verbatim evidence.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from undertow.atomic import atomic_open
from undertow.errors import CorruptFileError
from undertow.extractor import lexical, plain_heads, stacking
from undertow.extractor.grounding import is_quotable
from undertow.extractor.results import Classification, Evidence, SignalFlag
from undertow.extractor.sentences import EmbeddedText, document_vector
from undertow.settings import Settings

BUNDLED_MODEL = "model/local.npz"
MAX_EVIDENCE = 2
OPTIONAL_ARRAYS = (
    "lexical_w", "lexical_b", "idf", "doc_w", "doc_b", "doc_lexical_w", "doc_lexical_b", "doc_idf", "combiner_w", "combiner_b",
    "plain_sw", "plain_sb", "plain_dw", "plain_db",
)


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


class DamagedModel(CorruptFileError):
    """A model file that cannot be read back; `undertow doctor` shows its reason and fix apart."""

    def __init__(self, path: Path, reason: str):
        self.path, self.reason, self.fix = path, reason, _model_fix(path)
        super().__init__(f"model file {path} is damaged ({reason}); {self.fix}")


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
    doc_weights: np.ndarray | None = None  # (embedding dim x signals), on the mean sentence vector
    doc_bias: np.ndarray | None = None
    doc_share: float = 0.2
    doc_lexical_weights: np.ndarray | None = None  # (hashed n-grams x signals), on the whole text
    doc_lexical_bias: np.ndarray | None = None
    doc_idf: np.ndarray | None = None
    combiner_weights: np.ndarray | None = None  # (signals x combiner features)
    combiner_bias: np.ndarray | None = None
    plain: plain_heads.PlainHeads | None = None
    plain_share: float = 0.5  # weight of the plain view in the document score

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

    def windows(self, embedded: list[EmbeddedText]) -> np.ndarray:
        """Every sentence's features with its neighbours, all documents stacked: both views read them."""
        return np.vstack([sentence_features(e.vectors, self.context) for e in embedded])

    def first_stage(self, embedded: list[EmbeddedText], sentence_windows: np.ndarray | None = None) -> stacking.FirstStageScores:
        sentence_semantic = self.semantic_scores(self.windows(embedded) if sentence_windows is None else sentence_windows)
        windows, whole = lexical.features([[s.text for s in e.sentences] for e in embedded], self.idf, self.doc_idf)
        sentence_lexical = _sigmoid(np.asarray(windows @ self.lexical_weights) + self.lexical_bias)
        means = np.array([document_vector(e) for e in embedded])
        document_semantic = _sigmoid(means @ self.doc_weights + self.doc_bias)
        document_lexical = (
            _sigmoid(np.asarray(whole @ self.doc_lexical_weights) + self.doc_lexical_bias)
            if self.doc_lexical_weights is not None
            else np.full_like(document_semantic, 0.5)
        )
        return stacking.FirstStageScores(
            sentence_semantic, sentence_lexical, [len(e.sentences) for e in embedded], document_semantic, document_lexical
        )

    def scores(self, embedded: list[EmbeddedText]) -> list[tuple[np.ndarray, np.ndarray]]:
        """(per-sentence scores, per-document scores) for each document, computed as one batch:
        a nightly run classifies thousands of documents and per-document calls cost more than the maths."""
        if not embedded:
            return []
        windows = self.windows(embedded)
        first = self.first_stage(embedded, windows)
        per_sentence = first.per_document(first.sentence_scores)
        if self.combiner_weights is not None:
            per_document = stacking.combined_scores(stacking.document_features(first), self.combiner_weights, self.combiner_bias)
        else:  # a model trained before the combiner existed: its fixed blend
            best = np.array([scores.max(axis=0) for scores in per_sentence])
            per_document = (1 - self.doc_share) * best + self.doc_share * first.document_semantic
        if self.plain is not None:
            plain_sentence, plain_document = self.plain.scores(windows, embedded)
            share = self.plain_share
            per_sentence = [(1 - share) * stacked + share * plain for stacked, plain in zip(per_sentence, plain_sentence)]
            per_document = (1 - share) * per_document + share * plain_document
        return list(zip(per_sentence, per_document))

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
            # A greeting or a name alone explains nothing: quotes come from sentences of a few
            # words, unless the whole document is shorter than that.
            quotable = [i for i, s in enumerate(embedded.sentences) if is_quotable(s.text)] or list(range(len(embedded.sentences)))
            ranked = sorted(quotable, key=lambda i: -scores[i, k])[:MAX_EVIDENCE]
            # The best sentence always explains the flag; a second one only if it is as strong.
            # Strongest first: whoever shows one quote shows the one that carries the signal.
            chosen = [ranked[0]] + [i for i in ranked[1:] if scores[i, k] >= max(0.5, 0.9 * scores[ranked[0], k])]
            evidence = [
                Evidence(quote=embedded.sentences[i].text, start=embedded.sentences[i].start, end=embedded.sentences[i].end)
                for i in chosen
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
        if self.doc_lexical_weights is not None:
            arrays |= {"doc_lexical_w": self.doc_lexical_weights, "doc_lexical_b": self.doc_lexical_bias, "doc_idf": self.doc_idf}
        if self.combiner_weights is not None:
            arrays |= {"combiner_w": self.combiner_weights, "combiner_b": self.combiner_bias}
        if self.plain is not None:
            arrays |= self.plain.arrays()
        header = {
            "signals": self.signals,
            "thresholds": [float(t) for t in self.thresholds],
            "embed_model": self.embed_model,
            "context": self.context,
            "layers": len(self.weights),
            "doc_share": self.doc_share,
            "plain_share": self.plain_share,
            "meta": self.meta,
        }
        # float16 halves the file; the scores move by less than 1e-3. Written whole or not at all:
        # a killed `undertow train` must leave the previous model, not a truncated one.
        with atomic_open(path, "wb") as handle:
            np.savez_compressed(
                handle,
                header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
                **{k: v.astype(np.float16) for k, v in arrays.items()},
            )

    @classmethod
    def load(cls, path: Path) -> "LocalModel":
        """Raises CorruptFileError, one line with the fix, when the file is truncated or garbled:
        a model killed mid-write by an older version must not become a traceback in every command."""
        try:
            return cls._read(path)
        except FileNotFoundError:
            raise
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as error:
            raise DamagedModel(path, _reason(error)) from None

    @classmethod
    def _read(cls, path: Path) -> "LocalModel":
        with np.load(path) as data:
            header = json.loads(bytes(data["header"]).decode())
            weights = [data[f"w{i}"].astype(np.float32) for i in range(header["layers"])]
            biases = [data[f"b{i}"].astype(np.float32) for i in range(header["layers"])]
            optional = {k: data[k].astype(np.float32) for k in OPTIONAL_ARRAYS if k in data}
        return cls(
            signals=header["signals"],
            weights=weights,
            biases=biases,
            thresholds=np.asarray(header["thresholds"], dtype=np.float32),
            embed_model=header["embed_model"],
            context=header["context"],
            meta=header["meta"],
            lexical_weights=optional.get("lexical_w"),
            lexical_bias=optional.get("lexical_b"),
            idf=optional.get("idf"),
            doc_weights=optional.get("doc_w"),
            doc_bias=optional.get("doc_b"),
            doc_share=header.get("doc_share", 0.2),
            doc_lexical_weights=optional.get("doc_lexical_w"),
            doc_lexical_bias=optional.get("doc_lexical_b"),
            doc_idf=optional.get("doc_idf"),
            combiner_weights=optional.get("combiner_w"),
            combiner_bias=optional.get("combiner_b"),
            plain=plain_heads.PlainHeads.from_arrays(optional),
            plain_share=header.get("plain_share", 0.5),
        )


def _calibrated(score: float, threshold: float) -> float:
    """Map a raw score onto 0..1 so that the signal's threshold sits at 0.5 for every signal."""
    score, threshold = float(score), float(min(max(threshold, 1e-6), 1 - 1e-6))
    if score < threshold:
        return round(0.5 * score / threshold, 4)
    return round(0.5 + 0.5 * (score - threshold) / (1 - threshold), 4)


def _reason(error: BaseException) -> str:
    """The first sentence of the error: numpy's messages run to several lines of advice that does not apply."""
    text = str(error).strip().splitlines()[0].split(". ")[0][:120] if str(error).strip() else ""
    kind = "zlib.error" if isinstance(error, zlib.error) else type(error).__name__
    return f"{kind}: {text}" if text else kind


def _model_fix(path: Path) -> str:
    if path == bundled_model_path():
        return "reinstall undertow, or run `undertow train` to make a model of your own"
    return "delete it to fall back to the bundled model, or run `undertow train` again"


def model_path_for(settings: Settings) -> Path:
    """The model `undertow train` made for this home, else the one shipped in the package."""
    return settings.user_model_path if settings.user_model_path.exists() else bundled_model_path()


def bundled_model_path() -> Path:
    return Path(str(resources.files("undertow.extractor").joinpath(BUNDLED_MODEL)))


def load_local_model(path: Path | None = None) -> LocalModel:
    """The model at `path` (see `model_path_for`), or the one shipped in the package."""
    path = path or bundled_model_path()
    if not path.exists():
        raise FileNotFoundError(f"no local classifier at {path}: run `undertow train` to build one")
    return LocalModel.load(path)
