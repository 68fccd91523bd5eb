"""CSM corrections (`undertow feedback`) turned into training examples, and the fast refits:
remembering corrections (seconds, nothing else moves) and nudging heads with new labels (distill).

A confirmed signal becomes a positive on its evidence (the flag's quotes, or the sentence the
current model scores highest when the model had missed it); a rejected one makes the whole
document a negative for that signal. Signals nobody judged stay unknown.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from scipy.optimize import minimize

from undertow.documents import Document
from undertow.extractor.card import library_versions
from undertow.extractor.corrections import correction_memory
from undertow.extractor.embedding import Embedder, same_space
from undertow.extractor.local import LocalModel, bundled_model_path, load_local_model
from undertow.extractor.sentences import EmbeddedText, embed_texts
from undertow.extractor.training import LabelledExample, command_line, feedback_entry, head_designs
from undertow.store.records import RecordStore


def correction_example(doc: Document, verdicts: dict[str, bool], flagged: dict[str, list[str]], best_sentence: Callable[[str], str]) -> LabelledExample:
    """One document's corrections (signal -> present) as a training example. A confirmed signal's
    evidence is the quotes of the flag it confirms (`flagged`), else `best_sentence(signal)`."""
    evidence = {signal: flagged.get(signal) or [best_sentence(signal)] for signal, present in verdicts.items() if present}
    labelled = doc.model_copy(update={"labels": sorted(evidence), "evidence": evidence, "labelled_signals": None})
    return LabelledExample(labelled, known_signals=set(verdicts), feedback=True)


def best_sentence_under(model: LocalModel, embedded: EmbeddedText) -> Callable[[str], str]:
    """The sentence `model` scores highest for a signal: the evidence of a flag it missed."""

    def best(signal: str) -> str:
        if signal not in model.signals:
            return embedded.sentences[0].text
        column = model.signals.index(signal)
        return embedded.sentences[int(np.argmax(model.document_scores(embedded)[0][:, column]))].text

    return best


def feedback_examples(records: RecordStore, embedder: Embedder, model_path: Path | None = None) -> list[LabelledExample]:
    """Every stored correction, one example per corrected document."""
    by_doc: dict[str, dict[str, bool]] = {}
    for row in records.feedback():
        by_doc.setdefault(row["doc_id"], {})[row["signal"]] = bool(row["present"])
    if not by_doc:
        return []
    flags = {(f["doc_id"], f["signal"]): [e["quote"] for e in f["evidence"]] for f in records.flags()}
    model = None
    examples = []
    for doc_id, verdicts in by_doc.items():
        stored = records.get_document(doc_id)
        if stored is None:
            continue

        def best_sentence(signal: str, stored: dict = stored) -> str:
            nonlocal model
            model = model or load_local_model(model_path)
            # The sentence vectors ingestion stored serve unless another embedding model made them.
            readable = same_space(stored["embed_model"], model.embed_model)
            emb = EmbeddedText.from_stored(stored) if readable else embed_texts([stored["text"]], embedder)[0]
            return best_sentence_under(model, emb)(signal)

        doc = Document(id=doc_id, account_id=stored["account_id"], text=stored["text"], source=stored["source"])
        flagged = {signal: flags[(doc_id, signal)] for signal in verdicts if (doc_id, signal) in flags}
        examples.append(correction_example(doc, verdicts, flagged, best_sentence))
    return examples


# --- the fast refit ------------------------------------------------------------------------------


@dataclass
class RefitReport:
    signals: list[str]  # the signals whose heads moved; every other signal is as it was
    feedback_documents: int
    base_version: str
    version: str
    seconds: float
    remembered: int = 0  # corrected documents that now decide themselves and their near copies


def refit_base(current: LocalModel, kept: Path | None = None) -> LocalModel:
    """The model trained on data that `current` is, or was refit from: itself, the copy the caller
    `kept` of it, or the bundled model. Refits always start there, with all corrections."""
    if current.card.refit_of is None:
        return current
    for path in (kept, bundled_model_path()):
        if path is not None and path.exists():
            candidate = LocalModel.load(path)
            if candidate.version == current.card.refit_of:
                return candidate
    raise ValueError(
        f"model {current.version} was refit from {current.card.refit_of}, which is no longer here; run `undertow train` to train from the data again"
    )


def refit_with_feedback(
    base: LocalModel,
    examples: list[LabelledExample],
    embedder: Embedder | None = None,
    embedded: list[EmbeddedText] | None = None,
    created_by: str | None = None,
) -> tuple[LocalModel, RefitReport]:
    """`base` with the CSM corrections remembered (extractor/corrections.py): each corrected
    document, and any note within the memory's radius of it, gets the CSM's verdict. Heads,
    combiner and thresholds stay as trained, so no other document's flags move. Refit from the
    model trained on the data (the bundled one, or a full `undertow train`) with all corrections.

    `embedded` are the examples' texts already embedded; otherwise `embedder` embeds them.
    """
    started = time.perf_counter()
    embedded = _embedded(examples, embedder, embedded)
    model = base.copy()
    model.memory = correction_memory(examples, embedded, base.signals, lambda e: base.document_scores(e)[0])
    return _refit_card(model, base, examples, [], started, created_by)


def nudge_heads(
    base: LocalModel,
    examples: list[LabelledExample],
    embedded: list[EmbeddedText],
    created_by: str | None = None,
) -> tuple[LocalModel, RefitReport]:
    """`base` with its heads moved to learn from `examples` in seconds, without the training data:
    what `distill` does with an LLM's labels, where generalising to unseen documents is the point.

    For each signal the examples judge, each of its six heads (sentence and document, embedding
    and n-gram, stacked and plain) moves as retraining with the examples added would move it,
    to second order: the examples' weighted logistic loss (each weighs `feedback_weight`
    examples, with the head's C and class weights) plus the training objective's curvature at the
    trained weights, ½ Δwᵀ H Δw with H's diagonal stored at training time (`head_curvature`). A
    weight the training data holds firmly (a common n-gram, the direction every sentence shares)
    barely moves; one it says little about moves freely. The change lies in the span of H⁻¹xᵢ of
    the examples' rows, so one coefficient per row is optimised, not the weights.

    Biases, the combiner and every threshold stay as trained, and a signal no example judges
    keeps its heads bit for bit (its scores can move only through the combiner's view of the other
    signals' best sentences).
    """
    started = time.perf_counter()
    if not base.curvature:
        raise ValueError(f"model {base.version} was made before feedback refits existed; run `undertow train` once, then refits work")
    examples = [LabelledExample(e.doc, e.known_signals, e.group, feedback=True) for e in examples]
    judged = {s for e in examples for s in (e.known_signals if e.known_signals is not None else base.signals)}
    columns = [k for k, signal in enumerate(base.signals) if signal in judged]
    model = base.copy()
    if examples and columns:
        for head, (x, y, mask, weight, c) in head_designs(model, examples, embedded).items():
            weights, bias = model.head(head)
            diagonal, class_weights = base.curvature[f"h_{head}"], base.curvature[f"cw_{head}"]
            for k in columns:
                rows = mask[:, k]
                if not rows.any() or not class_weights[:, k].any():
                    continue
                cost = c * weight[rows] * class_weights[y[rows, k].astype(int), k]
                weights[:, k] = _nudge(weights[:, k], float(bias[k]), x[rows], y[rows, k], cost, diagonal[:, k])
    return _refit_card(model, base, examples, [base.signals[k] for k in columns], started, created_by)


def _embedded(examples: list[LabelledExample], embedder: Embedder | None, embedded: list[EmbeddedText] | None) -> list[EmbeddedText]:
    if embedded is not None:
        return embedded
    if embedder is None:
        raise ValueError("a refit needs the examples' vectors or an embedder")
    return embed_texts([e.doc.text for e in examples], embedder)


def _refit_card(model: LocalModel, base: LocalModel, examples: list[LabelledExample], moved: list[str], started: float,
                created_by: str | None) -> tuple[LocalModel, RefitReport]:
    """`model`, made from `base` and `examples`, with its card and the refit's report."""
    card = base.card.model_copy(
        update={
            "refit_of": base.version,
            "feedback": feedback_entry(examples),
            "counts": base.card.counts | {"feedback_documents": len(examples)},
            "dev_figures": {},  # not measured again: see the base model's card
            "test_figures": {},
            "libraries": library_versions(),
            "created_by": command_line() if created_by is None else created_by,
        }
    )
    model.card = card.model_copy(update={"version": card.identity()})
    report = RefitReport(
        signals=moved, feedback_documents=len(examples), base_version=base.version, version=model.version,
        seconds=round(time.perf_counter() - started, 2), remembered=len(model.memory) if model.memory is not None else 0,
    )
    return model, report


def _nudge(w0: np.ndarray, bias: float, x, y: np.ndarray, cost: np.ndarray, diagonal: np.ndarray) -> np.ndarray:
    """argmin over w of ½(w − w0)ᵀ diag(h) (w − w0) + Σ costᵢ · logloss(yᵢ, xᵢ·w + bias), found as
    w = w0 + diag(h)⁻¹ xᵀ a (the representer theorem) by optimising a, one value per row."""
    inverse = 1.0 / diagonal.astype(np.float64)
    scaled = x.multiply(inverse).tocsr() if sparse.issparse(x) else x * inverse
    gram = scaled @ x.T
    gram = np.asarray(gram.toarray() if sparse.issparse(gram) else gram, dtype=np.float64)
    start = np.asarray(x @ w0, dtype=np.float64).ravel() + bias
    y, cost = y.astype(np.float64), cost.astype(np.float64)

    def objective(a: np.ndarray) -> tuple[float, np.ndarray]:
        shift = gram @ a
        z = start + shift
        loss = 0.5 * a @ shift + float(np.sum(cost * (np.logaddexp(0.0, z) - y * z)))
        return loss, gram @ (a + cost * (_sigmoid(z) - y))

    a = minimize(objective, np.zeros(len(y)), jac=True, method="L-BFGS-B").x
    return (w0 + np.asarray(scaled.T @ a).ravel()).astype(w0.dtype)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))
