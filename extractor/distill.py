"""`distill`'s pieces that need no home: which stored documents to ask the LLM about, which of them
are held back, the teacher's labels as the home keeps them, and how far a model agrees with them.

The sample is stratified by the local model's top calibrated confidence, so that documents it
thinks carry a signal (where the LLM most often corrects it) are over-represented and quiet ones
are still there to learn what is not a signal. Every choice is a stable hash of the document id:
a rerun picks the same documents, and a document is held back in every run or in none.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from undertow.documents import Document
from undertow.extractor.local import LocalModel
from undertow.extractor.results import Classification
from undertow.extractor.sentences import EmbeddedText
from undertow.extractor.training import LabelledExample

# (lowest top confidence, share of the sample): likely positives, the uncertain, the quiet.
STRATA = ((0.5, 0.45), (0.2, 0.30), (0.0, 0.25))


def stable_share(doc_id: str, purpose: str) -> float:
    """A number in [0, 1) fixed by the document id and what it is for."""
    return int(hashlib.sha256(f"{purpose}|{doc_id}".encode()).hexdigest()[:12], 16) / 16**12


def is_held_back(doc_id: str, share: float) -> bool:
    return stable_share(doc_id, "distill-holdout") < share


def stratified_sample(top_confidence: dict[str, float], size: int) -> list[str]:
    """`size` document ids (all of them when there are fewer): each stratum gives its share, in a
    hashed order; what a small stratum cannot give is taken from the others, likeliest first."""
    strata: list[list[str]] = [[] for _ in STRATA]
    for doc_id, top in top_confidence.items():
        strata[next(k for k, (lowest, _) in enumerate(STRATA) if top >= lowest)].append(doc_id)
    for members in strata:
        members.sort(key=lambda doc_id: stable_share(doc_id, "distill-sample"))
    quotas = [min(len(members), int(size * share)) for members, (_, share) in zip(strata, STRATA)]
    for k, members in enumerate(strata):
        extra = min(len(members) - quotas[k], size - sum(quotas))
        quotas[k] += max(extra, 0)
    return [doc_id for members, quota in zip(strata, quotas) for doc_id in members[:quota]]


@dataclass(frozen=True)
class TeacherLabel:
    """What the LLM said of one document: its signals and their grounded quotes."""

    doc_id: str
    content_hash: str
    teacher: str  # the LLM classifier's model_version: endpoint model and prompt version
    labels: list[str]
    evidence: dict[str, list[str]]

    @classmethod
    def of(cls, doc: Document, result: Classification, teacher: str) -> "TeacherLabel":
        evidence = {flag.signal: [e.quote for e in flag.evidence] for flag in result.flags}
        return cls(doc.id, doc.content_hash, teacher, sorted(evidence), evidence)

    def example(self, doc: Document, signals: list[str]) -> LabelledExample:
        """The document as a training example: the teacher judged every signal it was asked about."""
        labelled = doc.model_copy(update={"labels": list(self.labels), "evidence": dict(self.evidence), "labelled_signals": None})
        return LabelledExample(labelled, known_signals=set(signals), feedback=True)


class TeacherLabels:
    """The teacher's labels kept in the home, one JSON line each: a later run pays nothing for a
    document it has labelled, as long as its text and the teacher are the same."""

    def __init__(self, path: Path):
        self.path = path
        self._labels: dict[tuple[str, str], TeacherLabel] = {}
        if path.exists():
            for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if line.strip():
                    label = _parse(line, path, line_no)
                    self._labels[(label.doc_id, label.teacher)] = label

    def get(self, doc_id: str, content_hash: str, teacher: str) -> TeacherLabel | None:
        label = self._labels.get((doc_id, teacher))
        return label if label is not None and label.content_hash == content_hash else None

    def for_teacher(self, teacher: str) -> list[TeacherLabel]:
        return [label for (_, who), label in self._labels.items() if who == teacher]

    def add(self, labels: list[TeacherLabel]) -> None:
        for label in labels:
            self._labels[(label.doc_id, label.teacher)] = label

    def save(self) -> None:
        from undertow.atomic import atomic_write_text

        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write_text(self.path, "".join(json.dumps(asdict(label), ensure_ascii=False) + "\n" for label in self._labels.values()))


def _parse(line: str, path: Path, line_no: int) -> TeacherLabel:
    from undertow.errors import CorruptFileError

    try:
        return TeacherLabel(**json.loads(line))
    except (ValueError, TypeError) as error:
        raise CorruptFileError(f"{path}:{line_no}: not a teacher label ({error}); delete the file and `distill` asks again") from None


def agreement(model: LocalModel, docs: list[Document], embedded: list[EmbeddedText], labels: list[TeacherLabel]) -> dict:
    """Macro F1 of `model`'s verdicts against the teacher's labels, and each signal's F1 (None: the
    teacher saw it nowhere and the model flagged it nowhere)."""
    from undertow.eval.metrics import Prediction, score

    gold = [doc.model_copy(update={"labels": label.labels, "evidence": label.evidence, "labelled_signals": None}) for doc, label in zip(docs, labels)]
    results = model.classify_many([d.id for d in docs], embedded)
    report = score(gold, [Prediction(r.labels, {}) for r in results], model.signals)
    return {"macro_f1": report["macro_f1"], "per_signal": {s: figures["f1"] for s, figures in report["per_signal"].items()}}
