"""The offline classifier: light first-stage heads over each sentence and each document, and a
per-signal combiner over them.

First stage: a semantic head reads each sentence embedding with its neighbours, and a lexical
head reads hashed character n-grams of the same window; a document-level semantic head reads the
mean embedding and a document-level lexical head the whole text's n-grams (the gist of a note, or
a vendor hand-over, that no single sentence carries). Second stage (`stacking`): a logistic
combiner per signal turns those scores into the document's score; a document carries a signal
when it passes the signal's calibrated threshold, and its best sentences are the verbatim evidence.

The file carries the model card (extractor/card.py): the settings it was trained with, which
scoring reads too, and what it was trained and calibrated on.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
from pydantic import ValidationError
from undertow.extractor import lexical, plain_heads, stacking
from undertow.extractor.calibration import apply_map
from undertow.extractor.card import ModelCard, TrainingConfig
from undertow.extractor.corrections import CONFIRMED, REJECTED, CorrectionMemory
from undertow.extractor.grounding import is_quotable
from undertow.extractor.results import Classification, Evidence, SignalFlag
from undertow.extractor.sentences import EmbeddedText, document_vector

from undertow.atomic import atomic_open
from undertow.errors import CorruptFileError
from undertow.settings import Settings

BUNDLED_MODEL = "model/local.npz"
MAX_EVIDENCE = 2
# Version 2 files carry the model card; version 1 files (a `meta` dict) still load.
FILE_FORMAT = 2
# The stacked view's arrays: name in the file -> LocalModel field. The plain view's four arrays
# ("plain_*") are named by plain_heads.PlainHeads.
STACKED_ARRAYS = {
    "w0": "weights", "b0": "bias", "lexical_w": "lexical_weights", "lexical_b": "lexical_bias", "idf": "idf",
    "doc_w": "doc_weights", "doc_b": "doc_bias", "doc_lexical_w": "doc_lexical_weights",
    "doc_lexical_b": "doc_lexical_bias", "doc_idf": "doc_idf", "combiner_w": "combiner_weights", "combiner_b": "combiner_bias",
}
ARRAYS = (*STACKED_ARRAYS, "plain_sw", "plain_sb", "plain_dw", "plain_db")


def sentence_features(vectors: np.ndarray, window: int = 1) -> np.ndarray:
    """Each sentence's vector and the mean of its neighbours up to `window` sentences away (zeros
    past the document's ends), so a terse 'ok.' or a pronoun ('she is leaving') is read with what
    surrounds it."""
    n = len(vectors)
    padding = np.zeros((window, vectors.shape[1]), dtype=vectors.dtype)
    padded = np.vstack([padding, vectors, padding])
    neighbours = np.zeros_like(vectors)
    for distance in range(1, window + 1):
        neighbours = neighbours + (padded[window - distance : window - distance + n] + padded[window + distance : window + distance + n])
    return np.hstack([vectors, neighbours / (2.0 * window)])


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))


class DamagedModel(CorruptFileError):
    """A model file that cannot be read back; `undertow doctor` shows its reason and fix apart."""

    state = "is damaged"

    def __init__(self, path: Path, reason: str, fix: str | None = None):
        self.path, self.reason, self.fix = path, reason, fix or _model_fix(path)
        super().__init__(f"model file {path} {self.state} ({reason}); {self.fix}")


class NewerModel(DamagedModel):
    """A model a newer release wrote: sound, but not readable by this one. Deleting or retraining
    it, the fixes for a damaged file, would throw away a good model."""

    state = "was made by a newer undertow"

    def __init__(self, path: Path, reason: str):
        super().__init__(path, reason, "upgrade undertow to read it (pip install -U undertow); the file itself is fine, keep it")


class _MadeByNewerRelease(ValueError):
    pass


@dataclass
class LocalModel:
    """Per signal (columns): the stacked view's four first-stage heads and its combiner, and the
    plain view. The card holds the settings it was trained with, which scoring reads too."""

    signals: list[str]
    thresholds: np.ndarray
    embed_model: str
    weights: np.ndarray  # (window features x signals): the sentence-window embedding head
    bias: np.ndarray
    lexical_weights: np.ndarray  # (hashed n-grams x signals), on the sentence window
    lexical_bias: np.ndarray
    idf: np.ndarray
    doc_weights: np.ndarray  # (embedding dim x signals), on the mean sentence vector
    doc_bias: np.ndarray
    doc_lexical_weights: np.ndarray  # (hashed n-grams x signals), on the whole text
    doc_lexical_bias: np.ndarray
    doc_idf: np.ndarray
    # The second stage and the plain view; training sets them once the first stage is fitted.
    combiner_weights: np.ndarray | None = None  # (signals x combiner features)
    combiner_bias: np.ndarray | None = None
    plain: plain_heads.PlainHeads | None = None
    card: ModelCard = field(default_factory=ModelCard)
    # How firmly the training data holds each head's weights (`training.head_curvature`): what the
    # feedback refit needs. Empty in a model from before it existed.
    curvature: dict[str, np.ndarray] = field(default_factory=dict)
    # Per signal, [score knots, probability knots]: what a raw score means as a probability,
    # fitted on the development sets (extractor/calibration.py). Empty in older model files,
    # which keep the threshold-anchored mapping of `_calibrated`.
    confidence_maps: dict[str, list[list[float]]] = field(default_factory=dict)
    # CSM corrections that decide their documents and near copies (extractor/corrections.py).
    memory: CorrectionMemory | None = None

    @property
    def version(self) -> str:
        return self.card.version

    @property
    def config(self) -> TrainingConfig:
        return self.card.config

    def head(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(weights, bias) of one first-stage or plain head, by its array name in the file."""
        return {
            "w0": (self.weights, self.bias),
            "lexical_w": (self.lexical_weights, self.lexical_bias),
            "doc_w": (self.doc_weights, self.doc_bias),
            "doc_lexical_w": (self.doc_lexical_weights, self.doc_lexical_bias),
            "plain_sw": (self.plain.sentence_weights, self.plain.sentence_bias),
            "plain_dw": (self.plain.document_weights, self.plain.document_bias),
        }[name]

    def semantic_scores(self, windows: np.ndarray) -> np.ndarray:
        """(sentences x signals) probabilities of the sentence-window embedding head."""
        return _sigmoid(windows.astype(np.float32) @ self.weights + self.bias)

    def windows(self, embedded: list[EmbeddedText]) -> np.ndarray:
        """Every sentence's features with its neighbours, all documents stacked: both views read them."""
        return np.vstack([sentence_features(e.vectors, self.config.window) for e in embedded])

    def first_stage(self, embedded: list[EmbeddedText], sentence_windows: np.ndarray | None = None) -> stacking.FirstStageScores:
        sentence_semantic = self.semantic_scores(self.windows(embedded) if sentence_windows is None else sentence_windows)
        windows, whole = lexical.features(
            [[s.text for s in e.sentences] for e in embedded], self.idf, self.doc_idf, self.config.window, self.config.ngram_range
        )
        sentence_lexical = _sigmoid(np.asarray(windows @ self.lexical_weights) + self.lexical_bias)
        means = np.array([document_vector(e) for e in embedded])
        document_semantic = _sigmoid(means @ self.doc_weights + self.doc_bias)
        document_lexical = _sigmoid(np.asarray(whole @ self.doc_lexical_weights) + self.doc_lexical_bias)
        return stacking.FirstStageScores(
            sentence_semantic, sentence_lexical, [len(e.sentences) for e in embedded], document_semantic, document_lexical
        )

    def scores(self, embedded: list[EmbeddedText]) -> list[tuple[np.ndarray, np.ndarray]]:
        """(per-sentence scores, per-document scores) for each document, computed as one batch (a
        nightly run classifies thousands of documents and per-document calls cost more than the
        maths). The document scores decide; the sentence scores rank the quotes (`evidence_view`)."""
        if not embedded:
            return []
        windows = self.windows(embedded)
        first = self.first_stage(embedded, windows)
        per_sentence = first.per_document(first.sentence_scores)
        per_document = stacking.combined_scores(stacking.document_features(first), self.combiner_weights, self.combiner_bias)
        plain_sentence, plain_document = self.plain.scores(windows, embedded, self.config.plain_sentence_share)
        share = self.config.plain_share
        if self.config.evidence_view == "plain":
            per_sentence = plain_sentence
        else:
            per_sentence = [(1 - share) * stacked + share * plain for stacked, plain in zip(per_sentence, plain_sentence)]
        per_document = (1 - share) * per_document + share * plain_document
        if self.memory is not None:
            decided = self.memory.decide(embedded)
            per_document = np.where(decided == CONFIRMED, 1.0, np.where(decided == REJECTED, 0.0, per_document))
        return list(zip(per_sentence, per_document))

    def document_scores(self, embedded: EmbeddedText) -> tuple[np.ndarray, np.ndarray]:
        return self.scores([embedded])[0]

    def classify_many(self, doc_ids: list[str], embedded: list[EmbeddedText]) -> list[Classification]:
        scored = self.scores(embedded)
        confidences = self.confidences(np.array([doc_scores for _, doc_scores in scored]).reshape(len(scored), len(self.signals)))
        return [self._decide(doc_id, emb, *scores, confidence) for doc_id, emb, scores, confidence in zip(doc_ids, embedded, scored, confidences)]

    def classify(self, doc_id: str, embedded: EmbeddedText) -> Classification:
        return self.classify_many([doc_id], [embedded])[0]

    def _decide(self, doc_id: str, embedded: EmbeddedText, scores: np.ndarray, doc_scores: np.ndarray,
                confidences: list[float]) -> Classification:
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
            chosen = [ranked[0]] + [i for i in ranked[1:] if scores[i, k] >= max(0.5, 0.9 * scores[ranked[0], k])
                                    and embedded.sentences[i].text != embedded.sentences[ranked[0]].text]  # a line said twice is one quote
            evidence = [
                Evidence(quote=embedded.sentences[i].text, start=embedded.sentences[i].start, end=embedded.sentences[i].end)
                for i in chosen
            ]
            flags.append(SignalFlag(signal=signal, confidence=confidences[k], evidence=evidence))
        confidence = dict(zip(self.signals, confidences))
        return Classification(doc_id=doc_id, flags=flags, confidence=confidence, backend="local", model_version=self.version)

    def confidences(self, doc_scores: np.ndarray) -> list[list[float]]:
        """Per document (rows of `doc_scores`) and signal, how often a document scored like this
        really carries the signal (see confidence_maps), rounded to 4 places. A column at a time:
        one signal's map applied to one score at a time was a fifth of classifying a batch."""
        columns = []
        for k, signal in enumerate(self.signals):
            knots = self.confidence_maps.get(signal)
            if knots is None:
                columns.append([_calibrated(score, self.thresholds[k]) for score in doc_scores[:, k]])
            else:
                mapped = apply_map(doc_scores[:, k].astype(np.float64), (np.asarray(knots[0]), np.asarray(knots[1])))
                columns.append([round(float(value), 4) for value in mapped])
        return [list(row) for row in zip(*columns)]

    # --- persistence ---------------------------------------------------------------------------
    def copy(self, as_saved: bool = False) -> "LocalModel":
        """A copy whose arrays are its own; `as_saved`: rounded to float16 as the file keeps them,
        so what it scores is what a loaded model scores."""
        arrays = {name: value.astype(np.float16).astype(np.float32) if as_saved else value.copy() for name, value in self.arrays().items()}
        return LocalModel.from_arrays(
            arrays, signals=list(self.signals), thresholds=self.thresholds.copy(), embed_model=self.embed_model,
            card=self.card, curvature=dict(self.curvature), confidence_maps=dict(self.confidence_maps),
            memory=None if self.memory is None else CorrectionMemory.from_arrays(self.memory.arrays()),
        )

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], **rest) -> "LocalModel":
        """A model from its arrays by their file names (see `arrays`), and its other fields."""
        fields = {field: arrays[name] for name, field in STACKED_ARRAYS.items()}
        return cls(**fields, plain=plain_heads.PlainHeads.from_arrays(arrays), **rest)

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, field) for name, field in STACKED_ARRAYS.items()} | self.plain.arrays()

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        header = {
            "format": FILE_FORMAT,
            "signals": self.signals,
            "thresholds": [float(t) for t in self.thresholds],
            "embed_model": self.embed_model,
            "card": self.card.model_dump(mode="json"),
            "confidence_maps": self.confidence_maps,
        }
        # float16 halves the file; the scores move by less than 1e-3. Written whole or not at all:
        # a killed `undertow train` must leave the previous model, not a truncated one.
        with atomic_open(path, "wb") as handle:
            np.savez_compressed(
                handle,
                header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
                **{k: v.astype(np.float16) for k, v in (self.arrays() | self.curvature).items()},
                **(self.memory.arrays() if self.memory is not None else {}),
            )

    @classmethod
    def load(cls, path: Path) -> "LocalModel":
        """Raises CorruptFileError, one line with the fix, when the file is truncated or garbled:
        a model killed mid-write by an older version must not become a traceback in every command."""
        try:
            return cls._read(path)
        except FileNotFoundError:
            raise
        except _MadeByNewerRelease as error:
            raise NewerModel(path, str(error)) from None
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as error:
            raise DamagedModel(path, _reason(error)) from None

    @classmethod
    def _read(cls, path: Path) -> "LocalModel":
        with np.load(path) as data:
            header = json.loads(bytes(data["header"]).decode())
            if header.get("format", 1) > FILE_FORMAT:
                raise _MadeByNewerRelease(f"file format {header['format']}; this release reads up to {FILE_FORMAT}")
            missing = [k for k in ARRAYS if k not in data]
            if missing:  # a model from before the combiner or the plain view: nothing scores it now
                raise ValueError(f"made by an older undertow (no {missing[0]})")
            arrays = {k: data[k].astype(np.float32) for k in ARRAYS}
            curvature = {k: data[k].astype(np.float32) for k in data.files if k.startswith(("h_", "cw_"))}
            memory = CorrectionMemory.from_arrays({k: data[k] for k in data.files if k.startswith("memory_")})
        card = _card(header["card"]) if "card" in header else _card_of_first_format(header)
        return cls.from_arrays(
            arrays,
            signals=header["signals"],
            thresholds=np.asarray(header["thresholds"], dtype=np.float32),
            embed_model=header["embed_model"],
            card=card,
            confidence_maps=header.get("confidence_maps", {}),
            curvature=curvature,
            memory=memory,
        )


def _card(fields: dict) -> ModelCard:
    """The card; fields this release does not know mean a newer release wrote it, not damage."""
    try:
        return ModelCard.model_validate(fields)
    except ValidationError as error:
        unknown = [".".join(map(str, e["loc"])) for e in error.errors() if e["type"] == "extra_forbidden"]
        if unknown and len(unknown) == len(error.errors()):
            raise _MadeByNewerRelease(f"its card has settings this release does not know: {', '.join(unknown)}") from None
        raise


def _card_of_first_format(header: dict) -> ModelCard:
    """A file written before the card existed (a `meta` dict): its version, and the settings all
    such models were trained with. Older shapes (several layers, other context modes) are refused:
    the code that scored them is gone."""
    if header.get("layers", 1) != 1 or header.get("context", "window") != "window":
        raise ValueError(f"made by an older undertow ({header.get('layers')} layers, context {header.get('context')!r})")
    meta = header.get("meta", {})
    return ModelCard(
        version=meta.get("version", "untrained"),
        config=TrainingConfig(plain_share=header.get("plain_share", 0.5), evidence_view="blend"),
        signals=header["signals"],
        embed_model=header["embed_model"],
        counts={k: v for k, v in meta.items() if isinstance(v, int) and k.endswith("_documents")},
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
