"""The bundled labelled sets honour the SIGNALS.md contract and never share text across splits."""

from __future__ import annotations

from collections import Counter

import pytest

from undertow.eval.datasets import DatasetError, bundled_path, contract_problem, load_documents, standard_sets
from undertow.prompts import signal_names

LANGUAGES = {"en", "it", "de", "pt", "nl", "fr", "es"}


@pytest.fixture(scope="module")
def splits():
    return {split: load_documents(bundled_path(split), labelled=True) for split in ("train", "dev", "test")}


def test_every_document_follows_the_contract(splits):
    signals = set(signal_names())
    for split, docs in splits.items():
        for doc in docs:
            assert contract_problem(doc, signals) is None, f"{split} {doc.id}: {contract_problem(doc, signals)}"


def test_sizes_languages_and_quiet_share(splits):
    assert len(splits["train"]) >= 1500 and len(splits["dev"]) >= 400
    for split, docs in splits.items():
        assert {d.language for d in docs} == LANGUAGES, split
        quiet = sum(not d.labels for d in docs) / len(docs)
        assert 0.25 <= quiet <= 0.45, f"{split}: {quiet:.0%} quiet"
        counts = Counter(label for d in docs for label in d.labels)
        for signal in signal_names():
            judged = [d for d in docs if d.labelled_signals is None or signal in d.labelled_signals]
            assert counts[signal] >= 0.08 * len(judged), f"{split}: {counts}"


def test_ids_unique_and_no_text_shared_between_splits(splits):
    ids = [d.id for docs in splits.values() for d in docs]
    assert len(ids) == len(set(ids))
    normalised = {split: {" ".join(d.text.lower().split()) for d in docs} for split, docs in splits.items()}
    assert not normalised["train"] & normalised["dev"]
    assert not normalised["train"] & normalised["test"]
    assert not normalised["dev"] & normalised["test"]


def test_no_text_is_shared_between_splits_of_the_synthetic_and_real_sets():
    texts = {split: {" ".join(d.text.lower().split()) for path in standard_sets(split) for d in load_documents(path, labelled=True)} for split in ("train", "dev", "test")}
    assert not texts["train"] & texts["test"] and not texts["dev"] & texts["test"] and not texts["train"] & texts["dev"]


def test_a_broken_labelled_line_is_named(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"id": "1", "account_id": "a", "text": "Budget cut.", "labels": ["budget_pressure"], "evidence": {"budget_pressure": ["Budget cuts"]}}\n',
        encoding="utf-8",
    )
    with pytest.raises(DatasetError, match=r"bad.jsonl:1: evidence for budget_pressure is not a verbatim substring"):
        load_documents(path, labelled=True)
