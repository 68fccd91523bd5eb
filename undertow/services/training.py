"""`train` and `reclassify`: build this home's local classifier from labelled data and CSM
feedback, and re-flag the stored documents with it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from undertow.errors import InputError
from undertow.services._shared import Notice, named_files, quiet
from undertow.settings import Settings


@dataclass
class TrainResult:
    report: object  # undertow.extractor.training.TrainReport
    path: Path  # where the model was written


@dataclass
class ReclassifyResult:
    summary: object  # undertow.ingest.reclassify.ReclassifySummary
    model_version: str


def train(
    settings: Settings,
    *,
    data: list[Path] = (),
    dev: list[Path] = (),
    out: Path | None = None,
    bundled: bool = True,
    feedback: bool = True,
    on_notice: Notice = quiet,
) -> TrainResult:
    """Train on the standard training sets (unless `bundled` is off), `data` and the home's CSM
    feedback (unless `feedback` is off); calibrate on `dev` (default: the standard dev sets)."""
    from undertow.eval.datasets import load_documents, real_path, standard_sets
    from undertow.extractor.embedding import local_embedder
    from undertow.extractor.feedback import feedback_examples
    from undertow.extractor.training import train_model
    from undertow.store.home import Home

    home = Home(settings)
    signals = home.signal_names
    train_paths = (standard_sets("train") if bundled else []) + list(data)
    if bundled and not real_path("train").exists():
        on_notice("note: the real-text training set is not here (it lives in the source repository); the model will read real text less well than the bundled one")
    with named_files():
        train_docs = [doc for path in train_paths for doc in load_documents(path, labelled=True)]
        dev_docs = [doc for path in (list(dev) or standard_sets("dev")) for doc in load_documents(path, labelled=True)]
    unknown = sorted({label for doc in train_docs for label in doc.labels or []} - set(signals))
    if unknown:
        raise InputError(f"labels {unknown} are not defined in signals.yaml; add them to {settings.signals_file}")
    embedder = local_embedder()
    examples = feedback_examples(home.records, embedder, home.model_path) if feedback else []
    _check_every_signal_has_examples(signals, train_docs + [e.doc for e in examples])
    on_notice(f"training on {len(train_docs)} documents + {len(examples)} from feedback, {len(signals)} signals ...")
    model, report = train_model(train_docs, dev_docs, signals, embedder, feedback_examples=examples)
    target = out or settings.user_model_path
    with named_files():
        model.save(target)
    return TrainResult(report, target)


def _check_every_signal_has_examples(signals: list[str], docs: list) -> None:
    """A signal nothing is labelled with cannot be learnt; say so before minutes of embedding."""
    for signal in signals:
        if not any(signal in (doc.labels or []) and (doc.evidence or {}).get(signal) for doc in docs):
            raise InputError(f"signal {signal!r} needs both positive and negative examples to train (it has 0 positive sentences)")


def reclassify(settings: Settings) -> ReclassifyResult:
    """Re-flag every stored document with the home's current local model, from the stored vectors."""
    from undertow.extractor.local import load_local_model
    from undertow.ingest.reclassify import reclassify as run
    from undertow.store.home import Home

    home = Home(settings)
    model = load_local_model(home.model_path)
    return ReclassifyResult(run(home, model), model.version)
