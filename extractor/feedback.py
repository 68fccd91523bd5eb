"""CSM corrections (`undertow feedback`) turned into training examples."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from undertow.documents import Document
from undertow.extractor.embedding import Embedder
from undertow.extractor.local import load_local_model
from undertow.extractor.sentences import EmbeddedText, embed_texts
from undertow.extractor.training import LabelledExample
from undertow.store.records import RecordStore


# One correction counts as this many training documents: a CSM who confirms or rejects a flag
# expects the next model to agree, and among thousands of bundled examples a weight of one is
# lost. Five moves the model on that text without letting one click outweigh a whole writer.
FEEDBACK_WEIGHT = 5.0


def feedback_examples(records: RecordStore, embedder: Embedder, model_path: Path | None = None) -> list[LabelledExample]:
    """A confirmed signal becomes a positive on its evidence (the flag's quotes, or the sentence the
    current model scores highest when the model had missed it); a rejected one makes the whole
    document a negative for that signal. Signals nobody judged stay unknown."""
    by_doc: dict[str, dict[str, bool]] = {}
    for row in records.feedback():
        by_doc.setdefault(row["doc_id"], {})[row["signal"]] = bool(row["present"])
    if not by_doc:
        return []
    flags = {(f["doc_id"], f["signal"]): f for f in records.flags()}
    model = None
    examples = []
    for doc_id, verdicts in by_doc.items():
        stored = records.get_document(doc_id)
        if stored is None:
            continue
        evidence: dict[str, list[str]] = {}
        for signal, present in verdicts.items():
            if not present:
                continue
            flag = flags.get((doc_id, signal))
            if flag:
                evidence[signal] = [e["quote"] for e in flag["evidence"]]
            else:
                model = model or load_local_model(model_path)
                # The sentence vectors ingestion stored serve unless another embedding model made them.
                same_space = stored["embed_model"].split("@")[0] == model.embed_model.split("@")[0]
                emb = EmbeddedText.from_stored(stored) if same_space else embed_texts([stored["text"]], embedder)[0]
                column = model.signals.index(signal) if signal in model.signals else None
                best = int(np.argmax(model.document_scores(emb)[0][:, column])) if column is not None else 0
                evidence[signal] = [emb.sentences[best].text]
        doc = Document(
            id=doc_id, account_id=stored["account_id"], text=stored["text"], source=stored["source"],
            labels=sorted(evidence), evidence=evidence,
        )
        examples.append(LabelledExample(doc, known_signals=set(verdicts), weight=FEEDBACK_WEIGHT))
    return examples
