"""The churn hold-out set keeps its promises (contract, held out, kinds, quiet look-alikes), and its
scorer counts what it says. No model runs here: the figures come from `python -m undertow.eval.churn_holdout`."""

from __future__ import annotations

import re
from collections import Counter, defaultdict

import pytest

from undertow.errors import InputError
from undertow.eval.churn_holdout import SIGNAL, figures, load_holdout, main, read_predictions
from undertow.eval.datasets import DatasetError, contract_problem, holdout_path, load_documents, standard_sets
from undertow.ingest.build import build_document
from undertow.ingest.items import ReadOptions
from undertow.prompts import signal_names

OTHER_LANGUAGES = {"de", "fr", "es", "it", "pt", "nl"}


@pytest.fixture(scope="module")
def holdout():
    return load_holdout(holdout_path("churn_holdout"))


def test_every_line_follows_the_contract(holdout):
    docs, _ = holdout
    signals = set(signal_names())
    for doc in docs:
        assert contract_problem(doc, signals) is None, f"{doc.id}: {contract_problem(doc, signals)}"


def test_evidence_is_in_the_text_the_classifier_reads(holdout):
    # Ingestion separates signatures and quoted replies; gold evidence cut away there would score
    # the model on words it never saw.
    docs, _ = holdout
    for doc in docs:
        read, _ = build_document(doc.model_dump(exclude={"labels", "evidence"}), ReadOptions())
        for quotes in doc.evidence.values():
            for quote in quotes:
                assert quote in read.text, f"{doc.id}: {quote!r} is not in the text ingestion keeps"


def test_ids_are_unique_and_numbered(holdout):
    docs, _ = holdout
    ids = [doc.id for doc in docs]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]{2}-\d{4}", doc_id) for doc_id in ids)


def test_every_kind_has_five_examples_and_is_all_churn_or_all_lookalike(holdout):
    docs, kinds = holdout
    churn_by_kind = defaultdict(set)
    for doc, kind in zip(docs, kinds):
        churn_by_kind[kind].add(SIGNAL in doc.labels)
    counts = Counter(kinds)
    assert min(counts.values()) >= 5, counts
    mixed = [kind for kind, values in churn_by_kind.items() if len(values) > 1]
    assert not mixed, f"kinds with both churn and look-alike texts: {mixed}"


def test_sizes_and_languages(holdout):
    docs, _ = holdout
    churn = [doc for doc in docs if SIGNAL in doc.labels]
    assert len(churn) >= 120 and len(docs) - len(churn) >= 150
    english = sum(doc.language == "en" for doc in docs) / len(docs)
    assert 0.5 <= english <= 0.7, english
    churn_languages = Counter(doc.language for doc in churn)
    # Per-language F1 needs churn texts in every language to mean anything.
    assert all(churn_languages[language] >= 5 for language in OTHER_LANGUAGES), churn_languages


def test_lookalikes_are_mostly_quiet(holdout):
    docs, _ = holdout
    lookalikes = [doc for doc in docs if SIGNAL not in doc.labels]
    quiet = sum(not doc.labels for doc in lookalikes) / len(lookalikes)
    assert quiet >= 0.85, f"{quiet:.0%} of look-alikes are quiet"


def test_no_text_is_shared_with_the_other_sets(holdout):
    docs, _ = holdout

    def normalised(text: str) -> str:
        return " ".join(text.lower().split())

    seen = {normalised(d.text) for split in ("train", "dev", "test") for path in standard_sets(split) for d in load_documents(path, labelled=True)}
    shared = [doc.id for doc in docs if normalised(doc.text) in seen]
    assert not shared, f"texts also in the training/development/test sets: {shared}"
    assert len({normalised(doc.text) for doc in docs}) == len(docs)


def test_training_and_calibration_never_read_it():
    holdout_file = holdout_path("churn_holdout").resolve()
    assert all(path.resolve() != holdout_file for split in ("train", "dev", "test") for path in standard_sets(split))


def test_figures_count_flags_per_kind(holdout):
    docs, kinds = holdout
    perfect = {doc.id: list(doc.labels) for doc in docs}
    result = figures(docs, kinds, perfect)
    assert result["churn_intent"]["f1"] == 1.0 and result["lookalike_flag_rate"] == 0.0
    assert result["criterion"]["met"]

    invoices = [doc.id for doc, kind in zip(docs, kinds) if kind == "duplicate_invoice_cancelled"]
    alarmed = perfect | {doc_id: [SIGNAL] for doc_id in invoices}
    result = figures(docs, kinds, alarmed)
    assert result["lookalike_flag_rate_per_kind"]["duplicate_invoice_cancelled"] == {"n": len(invoices), "flagged": len(invoices), "rate": 1.0}
    assert result["lookalike_flag_rate_per_kind"]["renewal_signed"]["flagged"] == 0
    assert result["churn_intent"]["precision"] < 1.0 and result["churn_intent"]["recall"] == 1.0
    assert not result["criterion"]["met"] and result["criterion"]["worst_lookalike_kind"] == "duplicate_invoice_cancelled"


def test_a_line_without_a_kind_is_named(tmp_path):
    path = tmp_path / "set.jsonl"
    path.write_text(
        '{"id": "x-1", "account_id": "a", "text": "We will not renew.", "labels": ["churn_intent"], '
        '"evidence": {"churn_intent": ["We will not renew."]}}\n',
        encoding="utf-8",
    )
    with pytest.raises(DatasetError, match=r"set.jsonl:1: every line of this set needs a 'kind'"):
        load_holdout(path)


def test_bad_predictions_are_named_and_exit_2(tmp_path, capsys):
    path = tmp_path / "out.jsonl"
    path.write_text('{"id": "ch-0001", "labels": []}\n["not", "an", "object"]\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"out.jsonl:2: not a classify output line"):
        read_predictions(path)
    assert main(["--predictions", str(path)]) == 2
    assert "out.jsonl:2" in capsys.readouterr().err
