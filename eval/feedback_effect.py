"""How far CSM corrections move the bundled model through the fast refit (`refit_with_feedback`).

Draws documents of the real-text development set that the model gets wrong (a fixed, hashed
order), turns each into the corrections a CSM would store with `undertow feedback` (confirm every
missed signal, reject every false flag), refits, and reports how many of those documents the
refit model gets right (and forwarded copies of them), how long the refit took, and the macro F1 and quiet false alarms of both
development sets before and after. Development figures only: the test sets are never read.

    python -m undertow.eval.feedback_effect [--documents 20] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time

import numpy as np

from undertow.documents import Document
from undertow.eval.datasets import bundled_path, load_documents, real_path
from undertow.eval.metrics import Prediction, judged_signals, score
from undertow.extractor.embedding import local_embedder
from undertow.extractor.feedback import best_sentence_under, correction_example, refit_with_feedback
from undertow.extractor.local import LocalModel, load_local_model
from undertow.extractor.sentences import EmbeddedText, embed_texts


FORWARDED = "FYI, forwarding this one from the customer thread.\n\n{text}\n\n--\nSent from my phone"


def wrong_signals(model: LocalModel, doc: Document, embedded: EmbeddedText) -> dict[str, bool]:
    """signal -> whether it is really there, for each signal the model gets wrong on `doc`."""
    predicted = set(model.classify(doc.id, embedded).labels)
    gold = set(doc.labels or [])
    return {s: s in gold for s in sorted(judged_signals(doc, model.signals)) if (s in gold) != (s in predicted)}


def draw(model: LocalModel, docs: list[Document], embedded: list[EmbeddedText], count: int) -> list[int]:
    """Indices of `count` documents the model gets wrong, in an order fixed by their ids."""
    wrong = [i for i, (doc, emb) in enumerate(zip(docs, embedded)) if wrong_signals(model, doc, emb)]
    return sorted(wrong, key=lambda i: hashlib.sha256(f"feedback-effect|{docs[i].id}".encode()).hexdigest())[:count]


def figures(model: LocalModel, docs: list[Document], embedded: list[EmbeddedText]) -> dict:
    results = model.classify_many([d.id for d in docs], embedded)
    report = score(docs, [Prediction(r.labels, {f.signal: [e.quote for e in f.evidence] for f in r.flags}) for r in results], model.signals)
    return {"macro_f1": report["macro_f1"], "quiet_false_alarm_rate": report["quiet_false_alarm_rate"]}


def measure(documents: int = 20, full: bool = False) -> dict:
    embedder = local_embedder()
    model = load_local_model()
    sets = {"real dev": load_documents(real_path("dev"), labelled=True), "synthetic dev": load_documents(bundled_path("dev"), labelled=True)}
    embedded = {name: embed_texts([d.text for d in docs], embedder) for name, docs in sets.items()}
    real, real_embedded = sets["real dev"], embedded["real dev"]
    drawn = draw(model, real, real_embedded, documents)
    corrections = {real[i].id: wrong_signals(model, real[i], real_embedded[i]) for i in drawn}
    # As `undertow feedback` stores them and `feedback_examples` reads them back: the document
    # without its labels, the verdicts, and for a missed signal the sentence the model scores highest.
    examples = [
        correction_example(
            real[i].model_copy(update={"labels": None, "evidence": None}), corrections[real[i].id], {}, best_sentence_under(model, real_embedded[i])
        )
        for i in drawn
    ]
    # The same notes as they come back in a later export: forwarded, with a line above and a signature.
    forwarded = [real[i].model_copy(update={"id": f"{real[i].id}-fwd", "text": FORWARDED.format(text=real[i].text)}) for i in drawn]
    forwarded_embedded = embed_texts([d.text for d in forwarded], embedder)
    rest = [i for i in range(len(real)) if i not in set(drawn)]
    sets["real dev without the corrected documents"] = [real[i] for i in rest]
    embedded["real dev without the corrected documents"] = [real_embedded[i] for i in rest]

    def outcome(after: LocalModel, seconds: float) -> dict:
        return {
            "version": after.version,
            "seconds": round(seconds, 2),
            "documents_fixed": sum(not wrong_signals(after, real[i], real_embedded[i]) for i in drawn),
            "corrections_fixed": sum(
                (signal in after.classify(real[i].id, real_embedded[i]).labels) == present
                for i in drawn for signal, present in corrections[real[i].id].items()
            ),
            "forwarded_copies_fixed": sum(not wrong_signals(after, forwarded[n], forwarded_embedded[n]) for n in range(len(drawn))),
            "thresholds_unchanged": bool(np.array_equal(model.thresholds, after.thresholds)),
            "figures": {name: figures(after, docs, embedded[name]) for name, docs in sets.items()},
        }

    started = time.perf_counter()
    refit, _ = refit_with_feedback(model, examples, embedded=[real_embedded[i] for i in drawn], created_by="eval/feedback_effect.py")
    seconds = time.perf_counter() - started
    result = {
        "model": model.version,
        "documents": len(drawn),
        "corrections": sum(len(c) for c in corrections.values()),
        "before": {name: figures(model, docs, embedded[name]) for name, docs in sets.items()},
        "refit": outcome(refit, seconds),
        "corrected": {doc_id: {s: ("confirm" if present else "reject") for s, present in c.items()} for doc_id, c in corrections.items()},
    }
    if full:  # the slow path for comparison: `undertow train` with these corrections as feedback
        from undertow.eval.datasets import standard_sets
        from undertow.extractor.training import load_labelled_set, train_model

        started = time.perf_counter()
        retrained, _ = train_model(
            [load_labelled_set(p) for p in standard_sets("train")], [load_labelled_set(p) for p in standard_sets("dev")],
            model.signals, embedder, feedback_examples=examples, config=model.config,
        )
        result["full retrain"] = outcome(retrained, time.perf_counter() - started)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=20)
    parser.add_argument("--full", action="store_true", help="also retrain from scratch with the corrections (minutes), to compare")
    parser.add_argument("--json", action="store_true", help="print the whole result, with each document's corrections")
    args = parser.parse_args()
    result = measure(args.documents, args.full)
    if args.json:
        print(json.dumps(result, indent=1))
        return
    print(f"{result['model']}: {result['documents']} real-dev documents it gets wrong, {result['corrections']} corrections")
    for way in ("refit", "full retrain"):
        if way not in result:
            continue
        after = result[way]
        print(
            f"{way}: {after['documents_fixed']}/{result['documents']} documents right after it, "
            f"{after['corrections_fixed']}/{result['corrections']} corrections, forwarded copies right {after['forwarded_copies_fixed']}/{result['documents']}, "
            f"{after['seconds']} s, thresholds unchanged: {after['thresholds_unchanged']}"
        )
        for name, before in result["before"].items():
            now = after["figures"][name]
            print(
                f"  {name}: macro F1 {before['macro_f1']:.4f} -> {now['macro_f1']:.4f}, "
                f"quiet false alarms {before['quiet_false_alarm_rate']:.4f} -> {now['quiet_false_alarm_rate']:.4f}"
            )


if __name__ == "__main__":
    main()
