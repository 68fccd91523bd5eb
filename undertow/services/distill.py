"""`distill`: the LLM labels a sample of the home's own documents, the local model learns from
those labels, and replaces the active model only if it now agrees with the LLM more often on
documents it did not learn from. `rollback` puts the previous model back.

The labels go through the LLM classifier every backend uses (its client, redaction, answer cache,
cost ceiling and deadline) and are kept in the home, so a rerun pays only for new documents.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from undertow.errors import InputError, NotFound
from undertow.services._shared import Notice, named_files, quiet
from undertow.settings import Settings

LABELS_FILE = "distill/teacher_labels.jsonl"  # in the home
BACKUP_NAME = "local.before-distill.npz"  # beside the home's model: what --rollback restores
STATE_NAME = "distill.json"  # beside it: which model distill installed, over which
CHUNK = 256  # stored documents scored at a time while choosing the sample


@dataclass
class DistillResult:
    sampled: int  # documents with a teacher label this run learns from or is measured on
    asked: int  # of them, sent to the LLM this run (the rest were labelled before)
    unanswered: int  # sampled documents the LLM gave no answer for (outage, ceiling, deadline)
    teach: int
    held_back: int
    before: dict  # agreement of the active model with the teacher on the held-back documents
    after: dict  # the same for the new model
    replaced: bool
    kind: str  # "refit" (the fast refit, default) or "full" (retrained from the data)
    model_before: str
    model_after: str
    path: Path | None  # where the new model was written; None when it was not better
    llm: str | None  # the LLM classifier's summary line: sent, cached, cost
    cost_usd: float | None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


@dataclass
class RollbackResult:
    removed: str  # the version distill had installed
    restored: str  # the version active again ("bundled model ..." when the home had none of its own)


def distill(
    settings: Settings,
    *,
    sample: int = 200,
    budget_usd: float | None = None,
    holdout_share: float = 0.3,
    full: bool = False,
    train_files: list[Path] | None = None,
    dev_files: list[Path] | None = None,
    on_notice: Notice = quiet,
) -> DistillResult:
    """Label up to `sample` stored documents with the LLM (spending at most `budget_usd` on new
    ones), learn from those not held back (`holdout_share`) by the fast refit or, `full`, by
    retraining on `train_files`/`dev_files` (default: the standard sets) plus the labels, and
    install the new model if it agrees with the teacher more than the active one does."""
    from undertow.extractor.distill import TeacherLabels, agreement, is_held_back
    from undertow.extractor.embedding import local_embedder
    from undertow.extractor.local import load_local_model
    from undertow.store.home import Home

    started = time.perf_counter()
    if sample < 2:
        raise InputError(f"--sample {sample}: at least 2 documents, some to learn from and some to measure on")
    if not 0 < holdout_share < 1:
        raise InputError(f"--holdout-share {holdout_share} is not a share between 0 and 1")
    if budget_usd is not None and budget_usd < 0:
        raise InputError(f"--budget {budget_usd} is negative")
    _require_llm(settings)
    home = Home(settings)
    model = load_local_model(home.model_path)
    embedder = local_embedder()
    labels = TeacherLabels(home.path / LABELS_FILE)
    teacher = _teacher(settings, home, model, budget_usd)
    docs, embedded, asked, unanswered = _labelled_sample(home, model, embedder, teacher, labels, sample, on_notice)
    chosen = [labels.get(d.id, d.content_hash, teacher.model_version) for d in docs]
    if not docs:
        stopped = teacher.stats.get("stopped")
        raise InputError(f"the LLM labelled none of the {asked} documents asked" + (f" ({stopped})" if stopped else "") + ": nothing to learn from")
    held = [i for i, doc in enumerate(docs) if is_held_back(doc.id, holdout_share)]
    teach = [i for i, doc in enumerate(docs) if not is_held_back(doc.id, holdout_share)]
    if not held or not teach:
        raise InputError(
            f"{len(docs)} labelled documents give {len(teach)} to learn from and {len(held)} to measure on: "
            "raise --sample (or move --holdout-share away from 0 and 1)"
        )
    before = agreement(model, _pick(docs, held), _pick(embedded, held), _pick(chosen, held))
    signals = [s for s in model.signals if s in teacher.prompt.signals]
    examples = [chosen[i].example(docs[i], signals) for i in teach]
    on_notice(f"teaching model {model.version} with {len(teach)} labelled documents; {len(held)} held back to measure ...")
    if full:
        candidate = _retrain(home, examples, embedder, train_files, dev_files)
    else:
        candidate = _refit(settings, home, model, examples, _pick(embedded, teach), embedder)
    saved = candidate.copy(as_saved=True)  # scored as the file will score
    after = agreement(saved, _pick(docs, held), _pick(embedded, held), _pick(chosen, held))
    replaced = after["macro_f1"] > before["macro_f1"]
    path = _install(settings, candidate) if replaced else None
    stats = teacher.stats
    notes = [f"the LLM stopped: {stats['stopped']}"] if stats.get("stopped") else []
    return DistillResult(
        sampled=len(docs), asked=asked, unanswered=unanswered, teach=len(teach), held_back=len(held), before=before, after=after,
        replaced=replaced, kind="full" if full else "refit", model_before=model.version, model_after=candidate.version, path=path,
        llm=teacher.summary() if asked else None, cost_usd=stats["cost_usd"], seconds=round(time.perf_counter() - started, 2), notes=notes,
    )


def _pick(rows: list, indices: list[int]) -> list:
    return [rows[i] for i in indices]


def _require_llm(settings: Settings) -> None:
    from undertow.extractor.llm import LLMNotConfigured

    if not settings.llm.configured:
        raise LLMNotConfigured(
            "distill asks an LLM to label documents: set OPENAI_API_KEY for OpenAI, or OPENAI_BASE_URL (e.g. "
            "http://localhost:11434/v1 for Ollama) and UNDERTOW_LLM_MODEL, in the environment or the llm section of config.toml"
        )


def _teacher(settings: Settings, home, model, budget_usd: float | None):
    """The LLM classifier every backend uses, with this run's ceiling; the local model reads what
    it cannot answer, and such documents are simply not labelled."""
    from undertow.extractor.llm import CACHE_FILE, LLMClassifier
    from undertow.extractor.llm_cache import AnswerCache
    from undertow.extractor.llm_prompt import load_prompt
    from undertow.extractor.local_backend import LocalClassifier

    llm = settings.llm if budget_usd is None else settings.llm.model_copy(update={"max_cost_usd": budget_usd})
    return LLMClassifier(llm, AnswerCache(home.path / CACHE_FILE), fallback=LocalClassifier(model), prompt=load_prompt(signals=home.signals),
                         home=home.path, unanswered=("left unlabelled (only the LLM's answers teach the local model)",
                                                     "the remaining documents are left unlabelled"))


def _labelled_sample(home, model, embedder, teacher, labels, size: int, on_notice: Notice):
    """(documents, their vectors, how many were asked now, how many went unanswered): the stored
    documents labelled by this teacher before, topped up to `size` with a stratified sample."""
    from undertow.extractor.distill import TeacherLabel, stratified_sample

    known: dict[str, float] = {}
    labelled: list[str] = []
    for rows in _chunks(home.records.iter_documents(with_vectors=True)):
        docs, embedded = _as_documents(rows, model, embedder)
        for doc, result in zip(docs, model.classify_many([d.id for d in docs], embedded)):
            if labels.get(doc.id, doc.content_hash, teacher.model_version) is not None:
                labelled.append(doc.id)
            else:
                known[doc.id] = max(result.confidence.values(), default=0.0)
    if not known and not labelled:
        raise NotFound(f"no documents are stored in {home.path}: ingest some first")
    chosen = labelled[:size] + stratified_sample(known, max(size - len(labelled), 0))
    docs, embedded = _as_documents([home.records.get_document(doc_id) for doc_id in chosen], model, embedder)
    before = set(labelled)
    to_ask = [i for i, doc in enumerate(docs) if doc.id not in before]
    if to_ask:
        on_notice(f"asking the LLM about {len(to_ask)} documents ({len(labelled[:size])} labelled before) ...")
        pending = set(teacher.cache.pending())
        results = teacher.classify([docs[i] for i in to_ask], [embedded[i] for i in to_ask])
        # Unanswered documents are simply not labelled: they must not join the store's queue of
        # fallback verdicts waiting to be healed, which is about flags, not about teaching.
        teacher.cache.clear_pending([docs[i].id for i in to_ask if docs[i].id not in pending])
        answered = [TeacherLabel.of(docs[i], r, teacher.model_version) for i, r in zip(to_ask, results) if r.backend == teacher.name]
        labels.add(answered)
        labels.save()
    keep = [i for i, doc in enumerate(docs) if labels.get(doc.id, doc.content_hash, teacher.model_version) is not None]
    return [docs[i] for i in keep], [embedded[i] for i in keep], len(to_ask), len(docs) - len(keep)


def _chunks(rows):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def _as_documents(rows: list[dict], model, embedder):
    """Stored rows as Documents with their vectors: the stored ones where the model reads that
    embedding space, else embedded again."""
    from undertow.documents import Document
    from undertow.extractor.embedding import same_space
    from undertow.extractor.sentences import EmbeddedText, embed_texts

    fields = set(Document.model_fields)
    docs = [Document.model_validate({k: v for k, v in row.items() if k in fields and v is not None}) for row in rows]
    same = [same_space(row["embed_model"], model.embed_model) for row in rows]
    fresh = iter(embed_texts([row["text"] for row, ok in zip(rows, same) if not ok], embedder))
    return docs, [EmbeddedText.from_stored(row) if ok else next(fresh) for row, ok in zip(rows, same)]


def _feedback(home, embedder):
    """The CSM corrections: a model refit from its base must carry them too, or it would lose them."""
    from undertow.extractor.feedback import feedback_examples

    return feedback_examples(home.records, embedder, home.model_path)


def _refit(settings, home, model, examples, embedded, embedder):
    """The model's data-trained base with its heads nudged by the labels and the CSM corrections, and the corrections remembered."""
    from undertow.extractor.corrections import correction_memory
    from undertow.extractor.feedback import nudge_heads, refit_base
    from undertow.extractor.sentences import embed_texts
    from undertow.services.training import BASE_MODEL_NAME

    try:
        base = refit_base(model, kept=settings.user_model_path.with_name(BASE_MODEL_NAME))
    except ValueError as error:
        raise InputError(f"{error}, or run `undertow distill --full`") from None
    if not base.curvature:
        raise InputError(f"model {base.version} was made before refits existed: run `undertow distill --full` (or `undertow train --full` first)")
    corrections = _feedback(home, embedder)
    correction_vectors = embed_texts([e.doc.text for e in corrections], embedder)
    candidate, _ = nudge_heads(base, examples + corrections, embedded + correction_vectors)
    if corrections:  # as in every model: a CSM's correction decides its document
        candidate.memory = correction_memory(corrections, correction_vectors, base.signals, lambda e: base.document_scores(e)[0])
    return candidate


def _retrain(home, examples, embedder, train_files, dev_files):
    """Training from the data, with the labels and the CSM corrections as extra examples."""
    from undertow.eval.datasets import standard_sets
    from undertow.extractor.training import load_labelled_set, train_model

    with named_files():
        train_sets = [load_labelled_set(p) for p in (train_files if train_files is not None else standard_sets("train"))]
        dev_sets = [load_labelled_set(p) for p in (dev_files if dev_files is not None else standard_sets("dev"))]
    candidate, _ = train_model(train_sets, dev_sets, home.signal_names, embedder, feedback_examples=examples + _feedback(home, embedder))
    return candidate


# --- installing and rolling back ------------------------------------------------------------------
def _install(settings: Settings, candidate) -> Path:
    """The new model becomes the home's; the one it replaces is kept for --rollback (the bundled
    model needs no copy), and a data-trained one also as the base later refits start from."""
    from undertow.atomic import atomic_write_bytes, atomic_write_text
    from undertow.extractor.local import LocalModel
    from undertow.services.training import BASE_MODEL_NAME

    target = settings.user_model_path
    backup, state = target.with_name(BACKUP_NAME), target.with_name(STATE_NAME)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if target.exists():
        previous = LocalModel.load(target)
        if previous.card.refit_of is None:
            atomic_write_bytes(target.with_name(BASE_MODEL_NAME), target.read_bytes())
        atomic_write_bytes(backup, target.read_bytes())
        before = {"previous": BACKUP_NAME, "previous_version": previous.version}
    else:
        from undertow.extractor.local import load_local_model

        backup.unlink(missing_ok=True)
        before = {"previous": "bundled", "previous_version": load_local_model().version}
    with named_files():
        candidate.save(target)
    atomic_write_text(state, json.dumps({**before, "installed_version": candidate.version, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, indent=1))
    return target


def rollback(settings: Settings) -> RollbackResult:
    """The model active before the last `distill` that replaced one, back in place."""
    from undertow.atomic import atomic_write_bytes
    from undertow.extractor.local import LocalModel

    target = settings.user_model_path
    state_path, backup = target.with_name(STATE_NAME), target.with_name(BACKUP_NAME)
    if not state_path.exists():
        raise NotFound(f"nothing to roll back: no model installed by `undertow distill` in {settings.resolved_home}")
    state = json.loads(state_path.read_text(encoding="utf-8"))
    active = LocalModel.load(target).version if target.exists() else None
    if active != state["installed_version"]:
        raise InputError(
            f"the active model {active} is not the one distill installed ({state['installed_version']}): it was replaced since, so nothing was rolled back"
        )
    if state["previous"] == "bundled":
        target.unlink()
        restored = f"bundled model {state['previous_version']}"
    else:
        if not backup.exists():
            raise NotFound(f"the previous model {backup} is gone: nothing to roll back to")
        atomic_write_bytes(target, backup.read_bytes())
        backup.unlink()
        restored = state["previous_version"]
    state_path.unlink()
    return RollbackResult(removed=state["installed_version"], restored=restored)
