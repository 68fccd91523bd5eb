"""The offline classifier: verbatim evidence, determinism, a team's own signal, CSM feedback."""

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
from undertow.extractor.local import LocalModel, load_local_model
from undertow.extractor.local_backend import LocalClassifier

DATA = Path(__file__).parent / "data"
SECURITY_TEXT = (
    "Thanks for the demo of the new planner. One more thing: our data protection officer wants to know whether "
    "customer records are stored outside the EU, and the security team asked for your latest penetration test."
)


def classify(classifier: LocalClassifier, text: str):
    return classifier.classify([Document(id="x", account_id="a", text=text)])[0]


def test_flags_carry_verbatim_evidence_and_scores_are_deterministic(embedder):
    classifier = LocalClassifier(embedder=embedder)
    text = (
        "Good call overall, the dashboards are used daily.\n"
        "Procurement told us every renewal above 20k now needs sign-off from the new CFO, and they want a 15% discount."
    )
    first, second = classify(classifier, text), classify(classifier, text)
    assert first.to_output() == second.to_output()
    assert "budget_pressure" in first.labels
    for flag in first.flags:
        for evidence in flag.evidence:
            assert text[evidence.start : evidence.end] == evidence.quote
        assert 0.5 <= flag.confidence <= 1.0
    assert all(0.0 <= c < 0.5 for s, c in first.confidence.items() if s not in first.labels)


def test_bundled_model_meets_a_floor_on_the_development_set():
    result = CliRunner().invoke(app, ["eval", "--json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["n_docs"] >= 400 and report["backend"] == "local"
    # A regression guard well below the figures in the README, not a target.
    assert report["macro_f1"] >= 0.75 and report["quiet_false_alarm_rate"] <= 0.15
    assert report["evidence_hit_rate"] >= 0.85
    assert set(report["per_language"]) == {"en", "it", "de", "pt", "nl", "fr", "es"}


@pytest.fixture()
def security_home(home: Path) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA / "security_signal.yaml", home / "signals.yaml")
    return home


def _train_small(extra: list[str] = ()):
    args = [
        "train", "--no-bundled", "--data", str(DATA / "small_train_with_security.jsonl"),
        "--dev", str(DATA / "small_dev_with_security.jsonl"), "--json", *extra,
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_a_team_adds_its_own_signal_without_code(security_home, embedder):
    report = _train_small()
    assert "security_concern" in report["signals"]
    model = load_local_model()
    assert Path(report["path"]) == security_home / "models" / "local.npz"
    assert model.signals[-1] == "security_concern"
    classifier = LocalClassifier(model=model, embedder=embedder)
    flagged = classify(classifier, SECURITY_TEXT)
    assert "security_concern" in flagged.labels
    (flag,) = [f for f in flagged.flags if f.signal == "security_concern"]
    assert "penetration test" in " ".join(e.quote for e in flag.evidence) or "outside the EU" in " ".join(e.quote for e in flag.evidence)
    quiet = classify(classifier, "Could you add two more seats for the interns starting in June? Thanks!")
    assert "security_concern" not in quiet.labels


def test_training_is_reproducible(security_home, tmp_path):
    first = _train_small(["--out", str(tmp_path / "a.npz")])
    second = _train_small(["--out", str(tmp_path / "b.npz")])
    assert first["version"] == second["version"]
    a, b = LocalModel.load(tmp_path / "a.npz"), LocalModel.load(tmp_path / "b.npz")
    assert np.array_equal(a.weights[0], b.weights[0]) and np.array_equal(a.thresholds, b.thresholds)


def test_unknown_labels_in_training_data_name_the_fix(home, tmp_path):
    data = write_jsonl(tmp_path / "x.jsonl", [doc(1, labels=["security_concern"], evidence={"security_concern": ["Weekly sync"]})])
    result = CliRunner().invoke(app, ["train", "--no-bundled", "--data", str(data)])
    assert result.exit_code == 2
    assert "security_concern" in result.stderr and "signals.yaml" in result.stderr


def test_csm_feedback_is_stored_and_folded_into_training(security_home, tmp_path, settings, embedder):
    _train_small()
    text = "Honestly we mostly export everything to spreadsheets now, it is simpler than raising tickets."
    path = write_jsonl(tmp_path / "fb.jsonl", [doc(1, text=text)])
    home, _ = run_ingest([path], settings)
    before = classify(LocalClassifier(embedder=embedder), text).confidence["silent_dissatisfaction"]

    runner = CliRunner()
    result = runner.invoke(app, ["feedback", "d-0001", "--reject", "silent_dissatisfaction", "--confirm", "security_concern"])
    assert result.exit_code == 0, result.stderr
    assert {(f["signal"], f["present"]) for f in home.records.feedback()} == {
        ("silent_dissatisfaction", False), ("security_concern", True)
    }
    assert runner.invoke(app, ["feedback", "nope", "--reject", "budget_pressure"]).exit_code == 2
    assert runner.invoke(app, ["feedback", "d-0001", "--reject", "made_up"]).exit_code == 2

    report = _train_small()
    assert report["feedback_documents"] == 1
    after = classify(LocalClassifier(embedder=embedder), text).confidence
    assert after["silent_dissatisfaction"] < before
    assert after["security_concern"] > 0.5


def test_reclassify_applies_a_new_model_to_stored_documents_without_reembedding(security_home, tmp_path, settings):
    path = write_jsonl(tmp_path / "sec.jsonl", [doc(1, text=SECURITY_TEXT), doc(2)])
    home, _ = run_ingest([path], settings)
    assert not [f for f in home.records.flags() if f["signal"] == "security_concern"]

    _train_small()
    result = CliRunner().invoke(app, ["reclassify", "--json"])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["documents"] == 2 and summary["model"] == load_local_model().version
    flags = {f["doc_id"]: f for f in home.records.flags() if f["signal"] == "security_concern"}
    assert "d-0001" in flags
    quote = flags["d-0001"]["evidence"][0]
    assert SECURITY_TEXT[quote["start"] : quote["end"]] == quote["quote"]
