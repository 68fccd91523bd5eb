"""`undertow train` applies CSM feedback to the model in seconds when only feedback changed, and
`undertow status` shows the model card."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from helpers import doc, run_ingest, write_jsonl
from undertow.cli.app import app
from undertow.documents import Document
from undertow.eval.datasets import real_path
from undertow.extractor.local import LocalModel, load_local_model
from undertow.extractor.local_backend import LocalClassifier
from undertow.extractor.sentences import embed_texts

DATA = Path(__file__).parent / "data"
SECURITY_TEXT = (
    "Thanks for the demo of the new planner. One more thing: our data protection officer wants to know whether "
    "customer records are stored outside the EU, and the security team asked for your latest penetration test."
)
HEADS = ("weights", "lexical_weights", "doc_weights", "doc_lexical_weights")


def invoke(*args: str):
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout) if "--json" in args else result


def verdict(model: LocalModel, embedder, text: str, signal: str) -> tuple[bool, float]:
    """Whether `model` flags `signal` in `text`, and its document score for it."""
    flagged = LocalClassifier(model=model, embedder=embedder).classify([Document(id="x", account_id="a", text=text)])[0].labels
    score = model.document_scores(embed_texts([text], embedder)[0])[1][model.signals.index(signal)]
    return signal in flagged, float(score)


@pytest.fixture()
def trained_home(home: Path, settings) -> Path:
    """A home with its own signal, a model trained on the small sets, and SECURITY_TEXT stored as d-0001."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA / "security_signal.yaml", home / "signals.yaml")
    invoke("train", "--no-bundled", "--data", str(DATA / "small_train_with_security.jsonl"), "--dev", str(DATA / "small_dev_with_security.jsonl"), "--json")
    run_ingest([write_jsonl(home.parent / "notes.jsonl", [doc(1, text=SECURITY_TEXT)])], settings)
    return home


def test_feedback_only_applies_a_correction_in_seconds_and_moves_no_head(trained_home, settings, embedder):
    before = load_local_model(settings.user_model_path)
    was_flagged, was_scored = verdict(before, embedder, SECURITY_TEXT, "security_concern")
    assert was_flagged  # and wrongly so, says the CSM below
    invoke("feedback", "d-0001", "--reject", "security_concern")

    report = invoke("train", "--feedback-only", "--json")
    assert report["kind"] == "refit" and report["base_version"] == before.version and report["remembered"] == 1
    assert report["seconds"] < 10 and report["total_seconds"] < 60
    after = load_local_model(settings.user_model_path)
    assert after.card.refit_of == before.version and after.version == report["version"] != before.version
    assert np.array_equal(after.thresholds, before.thresholds)
    for name in HEADS:
        assert np.array_equal(getattr(after, name), getattr(before, name)), name
    flagged, _ = verdict(after, embedder, SECURITY_TEXT, "security_concern")
    assert not flagged
    stored = LocalClassifier(model=after, embedder=embedder).classify([Document(id="d-0001", account_id="a", text=SECURITY_TEXT)])[0]
    assert "security_concern" not in stored.labels

    # The data-trained model is kept, and the next refit starts from it again with every correction.
    assert LocalModel.load(trained_home / "models" / "local.base.npz").version == before.version
    again = invoke("train", "--feedback-only", "--json")
    assert again["base_version"] == before.version and again["version"] == report["version"]

    status = invoke("status", "--json")["model"]
    assert status["version"] == report["version"] and status["refit_of"] == before.version
    assert status["dev_figures_of"] == before.version and set(status["dev_figures"]) == set(before.card.dev_figures)
    assert isinstance(status["created_by"], str)
    text = " ".join(invoke("status").stdout.split())  # as wide as the terminal
    assert report["version"] in text and f"refit of: {before.version}" in text


def test_feedback_only_without_feedback_says_how_to_give_some(trained_home):
    result = CliRunner().invoke(app, ["train", "--feedback-only"])
    assert result.exit_code == 2
    assert "no CSM feedback" in result.stderr and "undertow feedback" in result.stderr
    result = CliRunner().invoke(app, ["train", "--feedback-only", "--no-bundled"])
    assert result.exit_code == 2 and "--no-bundled" in result.stderr
    assert CliRunner().invoke(app, ["train", "--feedback-only", "--full"]).exit_code == 2


def test_status_shows_the_model_card(home):
    model = invoke("status", "--json")["model"]
    bundled = load_local_model()
    assert model["version"] == bundled.version and model["created_by"] == bundled.card.created_by and model["refit_of"] is None
    assert model["dev_figures"] == {name: f.model_dump() for name, f in bundled.card.dev_figures.items()}


@pytest.mark.skipif(not real_path("train").exists(), reason="the bundled model is trained on the real-text sets of a source checkout")
def test_plain_train_refits_the_bundled_model_when_only_feedback_changed(home, settings, monkeypatch):
    from undertow.services import training

    def no_full_training(*args, **kwargs):
        raise AssertionError("retrained from the data although only feedback changed")

    monkeypatch.setattr(training, "_full", no_full_training)
    run_ingest([write_jsonl(home.parent / "notes.jsonl", [doc(1, text=SECURITY_TEXT)])], settings)
    invoke("feedback", "d-0001", "--reject", "churn_intent")
    report = invoke("train", "--json")
    assert report["kind"] == "refit" and report["base_version"] == load_local_model().version
    assert not (home / "models" / "local.base.npz").exists()  # the base is the bundled model
    # Every correction taken back: the bundled model again in a moment, never a retraining.
    invoke("feedback", "d-0001", "--clear", "churn_intent")
    restored = invoke("train", "--json")
    assert restored["kind"] == "restored" and restored["version"] == load_local_model().version
    assert not (home / "models" / "local.npz").exists()  # the home reads the bundled model
    assert restored["total_seconds"] < 5


@pytest.mark.skipif(not real_path("train").exists(), reason="the bundled model is trained on the real-text sets of a source checkout")
def test_plain_train_without_feedback_puts_back_the_bundled_model_it_would_only_make_again(home, monkeypatch):
    """As after a `train --full` that learnt corrections since cleared: no retraining for minutes."""
    from undertow.extractor.local import bundled_model_path
    from undertow.services import training

    def no_full_training(*args, **kwargs):
        raise AssertionError("retrained from the data to make the bundled model again")

    monkeypatch.setattr(training, "_full", no_full_training)
    (home / "models").mkdir(parents=True, exist_ok=True)
    shutil.copy(bundled_model_path(), home / "models" / "local.npz")  # a data-trained home model, no refit
    restored = invoke("train", "--json")
    assert restored["kind"] == "restored" and restored["version"] == load_local_model().version
    assert not (home / "models" / "local.npz").exists()


@pytest.mark.skipif(not real_path("train").exists(), reason="the bundled model is trained on the real-text sets of a source checkout")
def test_train_replaces_a_damaged_model_it_names_as_the_fix(home, settings):
    run_ingest([write_jsonl(home.parent / "notes.jsonl", [doc(1, text=SECURITY_TEXT)])], settings)
    invoke("feedback", "d-0001", "--reject", "churn_intent")
    (home / "models").mkdir(parents=True, exist_ok=True)
    (home / "models" / "local.npz").write_bytes(b"PK\x03\x04 truncated")  # cut short mid-write
    report = invoke("train", "--json")
    assert report["kind"] == "refit" and LocalModel.load(home / "models" / "local.npz").card.refit_of == load_local_model().version


def test_a_model_from_a_newer_release_is_not_called_damaged(tmp_path):
    from undertow.extractor.local import NewerModel, bundled_model_path

    with np.load(bundled_model_path()) as data:
        arrays = {k: data[k] for k in data.files}
    header = json.loads(bytes(arrays["header"]).decode())
    for newer in ({**header, "format": 99}, {**header, "card": {**header["card"], "config": {**header["card"]["config"], "new_knob": 1}}}):
        arrays["header"] = np.frombuffer(json.dumps(newer).encode(), dtype=np.uint8)
        np.savez_compressed(tmp_path / "local.npz", **arrays)
        with pytest.raises(NewerModel, match="upgrade undertow") as raised:
            LocalModel.load(tmp_path / "local.npz")
        assert "damaged" not in str(raised.value) and "delete" not in str(raised.value)


def test_a_misspelt_label_in_training_data_is_named_with_its_file_and_line(home, tmp_path):
    data = write_jsonl(tmp_path / "mine.jsonl", [
        {"id": "b1", "account_id": "a", "text": "All fine.", "labels": [], "evidence": {}},
        {"id": "b2", "account_id": "a", "text": "We will not renew.", "labels": ["churn-intent"], "evidence": {"churn-intent": ["We will not renew."]}},
    ])
    result = CliRunner().invoke(app, ["train", "--no-bundled", "--data", str(data), "--json"])
    assert result.exit_code == 2
    assert f"{data}:2: labels ['churn-intent'] are not defined (the signals are" in json.loads(result.stdout)["error"]
