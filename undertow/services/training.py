"""`train` and `reclassify`: build this home's local classifier from labelled data and CSM
feedback, and re-flag the stored documents with it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from undertow.errors import CorruptFileError, InputError
from undertow.services._shared import Notice, named_files, quiet
from undertow.settings import Settings

BASE_MODEL_NAME = "local.base.npz"  # beside the home's model: the data-trained model refits start from


@dataclass
class TrainResult:
    report: object  # undertow.extractor.training.TrainReport, or feedback.RefitReport for a refit
    path: Path  # where the model was written
    kind: str = "full"  # "full": trained from the data; "refit": the last data-trained model with the feedback applied;
    # "restored": every correction taken back, that model itself again
    seconds: float = 0.0  # the whole command: loading, embedding, training or refitting, saving


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
    mode: Literal["auto", "full", "refit"] = "auto",
    on_notice: Notice = quiet,
) -> TrainResult:
    """Train on the standard training sets (unless `bundled` is off), `data` and the home's CSM
    feedback (unless `feedback` is off); calibrate on `dev` (default: the standard dev sets).

    `mode` "full" always trains from the data; "refit" applies the stored feedback to the last
    data-trained model (`refit`); "auto" refits when only feedback can have changed since that
    model was trained (the standard sets, signals and settings it was made with, feedback stored),
    and trains from the data otherwise."""
    from undertow.eval.datasets import real_path, standard_sets
    from undertow.extractor.card import TrainingConfig
    from undertow.extractor.training import load_labelled_set
    from undertow.store.home import Home

    started = time.perf_counter()
    custom = [name for name, given in (("--data", data), ("--dev", dev), ("--no-bundled", not bundled), ("--no-feedback", not feedback)) if given]
    if mode == "refit":
        if custom:
            raise InputError(f"--feedback-only applies the stored feedback to the current model; it cannot be combined with {', '.join(custom)}")
        return refit(settings, out=out, on_notice=on_notice)
    home = Home(settings)
    signals = home.signal_names
    train_paths = (standard_sets("train") if bundled else []) + list(data)
    if bundled and not real_path("train").exists():
        on_notice("note: the real-text training set is not here (it lives in the source repository); the model will read real text less well than the bundled one")
    with named_files():
        train_sets = [load_labelled_set(path, signals) for path in train_paths]
        dev_sets = [load_labelled_set(path, signals) for path in (list(dev) or standard_sets("dev"))]
    digests = ([s.sha256 for s in train_sets], [s.sha256 for s in dev_sets])
    if mode == "auto" and not custom and not home.records.feedback():
        restored = _restore_base(settings, started, on_notice) or _restore_bundled(settings, digests, signals, started, on_notice)
        if restored is not None:
            return restored
    if mode == "auto" and not custom and home.records.feedback():
        for find in (lambda: _refit_base_or_none(settings, home), _bundled_or_none):
            base = find()
            # A model that learnt corrections already would count them twice in a refit.
            if base is not None and base.curvature and base.card.feedback is None and base.card.trained_on(*digests, signals, TrainingConfig()):
                on_notice(f"model {base.version} was trained on these sets, signals and settings: applying the feedback to it (`--full` retrains from the data)")
                return refit(settings, out=out, on_notice=on_notice, base=base, started=started)
    return _full(settings, home, signals, train_sets, dev_sets, out, feedback, on_notice, started)


def _full(settings, home, signals, train_sets, dev_sets, out, feedback, on_notice, started) -> TrainResult:
    from undertow.extractor.embedding import local_embedder
    from undertow.extractor.feedback import feedback_examples
    from undertow.extractor.training import train_model

    train_docs = [doc for s in train_sets for doc in s.docs]
    unknown = sorted({label for doc in train_docs for label in doc.labels or []} - set(signals))
    if unknown:
        raise InputError(f"labels {unknown} are not defined in signals.yaml; add them to {settings.signals_file}")
    embedder = local_embedder()
    examples = feedback_examples(home.records, embedder, home.model_path) if feedback else []
    _check_every_signal_has_examples(signals, train_docs + [e.doc for e in examples])
    on_notice(f"training on {len(train_docs)} documents + {len(examples)} from feedback, {len(signals)} signals ...")
    model, report = train_model(train_sets, dev_sets, signals, embedder, feedback_examples=examples)
    target = out or settings.user_model_path
    with named_files():
        model.save(target)
    return TrainResult(report, target, "full", round(time.perf_counter() - started, 2))


def refit(settings: Settings, *, out: Path | None = None, on_notice: Notice = quiet, base=None, started: float | None = None) -> TrainResult:
    """The home's last data-trained model (itself, the copy kept in models/local.base.npz, or the
    bundled model) with every stored CSM correction remembered (`refit_with_feedback`): seconds,
    not minutes, and no head or threshold moves. Before a data-trained home model is overwritten it is kept
    as local.base.npz, so that the next refit starts from it again with all corrections."""
    from undertow.atomic import atomic_write_bytes
    from undertow.extractor.embedding import local_embedder
    from undertow.extractor.feedback import feedback_examples, refit_with_feedback
    from undertow.extractor.local import LocalModel
    from undertow.store.home import Home

    started = time.perf_counter() if started is None else started
    home = Home(settings)
    if not home.records.feedback():
        raise InputError(
            f"no CSM feedback is stored in {home.path}: record a correction with `undertow feedback DOC --reject SIGNAL` "
            "(or --confirm SIGNAL) first, or run `undertow train --full` to train from the data"
        )
    base = base or _refit_base_or_none(settings, home, strict=True)
    if base.card.feedback is not None:
        on_notice(f"note: model {base.version} learnt {base.card.feedback.documents} corrected documents in training; a refit counts them again (`undertow train --full` counts each once)")
    embedder = local_embedder()
    examples = feedback_examples(home.records, embedder, home.model_path)
    on_notice(f"applying {len(examples)} corrected documents to model {base.version} ...")
    model, report = refit_with_feedback(base, examples, embedder)
    target = out or settings.user_model_path
    if target.exists() and target.resolve() == settings.user_model_path.resolve() and _trained_on_data(target):
        atomic_write_bytes(_kept_base(settings), target.read_bytes())
    with named_files():
        model.save(target)
    return TrainResult(report, target, "refit", round(time.perf_counter() - started, 2))


def _restore_base(settings: Settings, started: float, on_notice: Notice) -> TrainResult | None:
    """Every correction taken back (`feedback --clear`): the model the refit started from, as it
    was, in a moment. A refit only adds the corrections' memory, so that model is exactly what is
    left; retraining from the data would take minutes to make it again. None when the home's model
    is not a refit, or its base is gone (then training from the data makes it)."""
    from undertow.atomic import atomic_write_bytes
    from undertow.extractor.local import LocalModel, bundled_model_path

    current_path = settings.user_model_path
    try:
        current = LocalModel.load(current_path) if current_path.exists() else None
    except CorruptFileError:
        return None
    if current is None or current.card.refit_of is None:
        return None
    for base_path in (_kept_base(settings), bundled_model_path()):
        if base_path.exists() and LocalModel.load(base_path).version == current.card.refit_of:
            if base_path == bundled_model_path():
                current_path.unlink()  # the home reads the bundled model again
            else:
                atomic_write_bytes(current_path, base_path.read_bytes())
            on_notice(f"no corrections are stored any more: model {current.card.refit_of}, which the refit started from, is back")
            return _restored(current.card.refit_of, base_path if base_path == bundled_model_path() else current_path, started)
    return None


def _restore_bundled(settings: Settings, digests: tuple, signals: list[str], started: float, on_notice: Notice) -> TrainResult | None:
    """No corrections stored and the bundled model made from these very sets, signals and
    settings: training from the data would take minutes to make it again (after a `--full` that
    learnt corrections since taken back, or on a home that never had any). None otherwise."""
    from undertow.extractor.card import TrainingConfig
    from undertow.extractor.local import bundled_model_path

    bundled = _bundled_or_none()
    if bundled is None or bundled.card.feedback is not None or not bundled.card.trained_on(*digests, signals, TrainingConfig()):
        return None
    if settings.user_model_path.exists():
        settings.user_model_path.unlink()  # the home reads the bundled model again
        on_notice(f"no corrections are stored: the bundled model {bundled.version}, trained on these same sets, is this home's model again "
                  "(`undertow train --full` retrains from the data)")
    else:
        on_notice(f"no corrections are stored and the bundled model {bundled.version} was trained on these same sets: nothing to train "
                  "(`undertow train --full` retrains from the data)")
    return _restored(bundled.version, bundled_model_path(), started)


def _restored(version: str, path: Path, started: float) -> TrainResult:
    """A model put back as it was: a report with nothing refitted."""
    from undertow.extractor.feedback import RefitReport

    return TrainResult(RefitReport([], 0, version, version, 0.0), path, "restored", round(time.perf_counter() - started, 2))


def _trained_on_data(path: Path) -> bool:
    """Whether the model at `path` is one a refit keeps as its base; a damaged one is not (the refit
    replaces it, which is the fix its error message names)."""
    from undertow.extractor.local import LocalModel

    try:
        return LocalModel.load(path).card.refit_of is None
    except CorruptFileError:
        return False


def _bundled_or_none():
    from undertow.extractor.local import bundled_model_path, load_local_model

    try:
        return load_local_model(bundled_model_path())
    except (FileNotFoundError, CorruptFileError):
        return None


def _kept_base(settings: Settings) -> Path:
    return settings.user_model_path.with_name(BASE_MODEL_NAME)


def _refit_base_or_none(settings: Settings, home, strict: bool = False):
    """The data-trained model a refit starts from; None (or, `strict`, the fix) when it is gone."""
    from undertow.extractor.feedback import refit_base
    from undertow.extractor.local import load_local_model

    try:
        base = refit_base(load_local_model(home.model_path), kept=_kept_base(settings))
    except CorruptFileError:
        if strict:
            raise
        return None  # a full training replaces it
    except ValueError as error:
        if strict:
            raise InputError(str(error)) from None
        return None
    if strict and not base.curvature:
        raise InputError(f"model {base.version} was made before feedback refits existed; run `undertow train --full` once, then refits work")
    return base


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
