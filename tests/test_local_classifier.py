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
from undertow.eval.datasets import real_path
from undertow.extractor.local import LocalModel, load_local_model
from undertow.extractor.local_backend import LocalClassifier

DATA = Path(__file__).parent / "data"
SECURITY_TEXT = (
    "Thanks for the demo of the new planner. One more thing: our data protection officer wants to know whether "
    "customer records are stored outside the EU, and the security team asked for your latest penetration test."
)


def classify(classifier: LocalClassifier, text: str):
    return classifier.classify([Document(id="x", account_id="a", text=text)])[0]


def raw_scores(model_path: Path, text: str, embedder) -> dict[str, float]:
    """The model's document scores: calibrated confidences are steps, and a step can hide a move."""
    from undertow.extractor.sentences import embed_texts

    model = load_local_model(model_path)
    return dict(zip(model.signals, model.document_scores(embed_texts([text], embedder)[0])[1].tolist()))


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
        assert 0.0 < flag.confidence <= 1.0
    assert all(0.0 <= c <= 1.0 for c in first.confidence.values())
    # Confidence is a calibrated probability: a higher score never means a lower confidence.
    for signal, (scores, probabilities) in classifier.model.confidence_maps.items():
        assert list(scores) == sorted(scores) and list(probabilities) == sorted(probabilities), signal


# Floors a little below what the bundled model measured on the held-out sets (README, and
# eval/RESULTS.md for each look): a regression guard, not a target.
HELD_OUT_FLOORS = {
    # measured 0.770 / 0.135 / 0.958, worst per-signal ECE 0.064 (churn_intent)
    "synthetic test": {"macro_f1": 0.75, "quiet_false_alarm_rate": 0.15, "evidence_hit_rate": 0.93, "max_ece": 0.075},
    # measured 0.464 / 0.255 / 0.791 on 788 documents, worst per-signal ECE 0.061 (budget_pressure)
    "real test": {"macro_f1": 0.45, "quiet_false_alarm_rate": 0.28, "evidence_hit_rate": 0.77, "max_ece": 0.07},
}


def test_bundled_model_holds_its_figures_on_the_held_out_sets():
    result = CliRunner().invoke(app, ["eval", "--json"])
    assert result.exit_code == 0, result.stderr
    reports = json.loads(result.stdout)
    expected = {"synthetic test"} | ({"real test"} if real_path("test").exists() else set())
    assert set(reports) == expected
    for name, report in reports.items():
        floors = HELD_OUT_FLOORS[name]
        assert report["backend"] == "local" and report["n_docs"] >= 300
        assert report["macro_f1"] >= floors["macro_f1"], name
        assert report["quiet_false_alarm_rate"] <= floors["quiet_false_alarm_rate"], name
        assert report["evidence_hit_rate"] >= floors["evidence_hit_rate"], name
        assert report["calibration"]["max_ece"] <= floors["max_ece"], name
    assert set(reports["synthetic test"]["per_language"]) == {"en", "it", "de", "pt", "nl", "fr", "es"}


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
    assert Path(report["path"]) == security_home / "models" / "local.npz"
    model = load_local_model(Path(report["path"]))
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
    assert np.array_equal(a.weights, b.weights) and np.array_equal(a.thresholds, b.thresholds)
    assert a.card == b.card


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
    before = raw_scores(settings.user_model_path, text, embedder)

    assert before["security_concern"] < 0.5 and not home.records.flagged_signals("d-0001") & {"security_concern"}
    runner = CliRunner()
    result = runner.invoke(app, ["feedback", "d-0001", "--reject", "silent_dissatisfaction", "--confirm", "security_concern", "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["flags_added"] == ["security_concern"]
    assert {(f["signal"], f["present"]) for f in home.records.feedback()} == {
        ("silent_dissatisfaction", False), ("security_concern", True)
    }
    # It counts at once, before any training: the confirmed signal is flagged, quoting the note.
    (confirmed,) = [f for f in home.records.flags() if f["doc_id"] == "d-0001" and f["signal"] == "security_concern"]
    assert confirmed["backend"] == "feedback" and confirmed["confidence"] == 1.0 and confirmed["evidence"][0]["quote"] in text
    assert "silent_dissatisfaction" not in {f["signal"] for f in home.records.flags()}
    assert runner.invoke(app, ["feedback", "nope", "--reject", "budget_pressure"]).exit_code == 2
    assert runner.invoke(app, ["feedback", "d-0001", "--reject", "made_up"]).exit_code == 2
    assert runner.invoke(app, ["feedback", "d-0001", "--reject", "budget_pressure", "--clear", "budget_pressure"]).exit_code == 2
    # A verdict taken back leaves nothing behind; given again, it counts again.
    cleared = runner.invoke(app, ["feedback", "d-0001", "--clear", "security_concern", "--json"])
    assert json.loads(cleared.stdout)["cleared"] == ["security_concern"]
    assert "security_concern" not in home.records.flagged_signals("d-0001")
    assert ("security_concern", True) not in {(f["signal"], f["present"]) for f in home.records.feedback()}
    assert runner.invoke(app, ["feedback", "d-0001", "--confirm", "security_concern"]).exit_code == 0

    report = _train_small()
    assert report["feedback_documents"] == 1
    after = raw_scores(settings.user_model_path, text, embedder)
    # The trained model remembers the verdicts for this note (and its near copies).
    assert after["silent_dissatisfaction"] == 0.0 and after["security_concern"] == 1.0


def test_reclassify_applies_a_new_model_to_stored_documents_without_reembedding(security_home, tmp_path, settings):
    path = write_jsonl(tmp_path / "sec.jsonl", [doc(1, text=SECURITY_TEXT), doc(2)])
    home, _ = run_ingest([path], settings)
    assert not [f for f in home.records.flags() if f["signal"] == "security_concern"]

    _train_small()
    result = CliRunner().invoke(app, ["reclassify", "--json"])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["documents"] == 2 and summary["model"] == load_local_model(settings.user_model_path).version
    flags = {f["doc_id"]: f for f in home.records.flags() if f["signal"] == "security_concern"}
    assert "d-0001" in flags
    quote = flags["d-0001"]["evidence"][0]
    assert SECURITY_TEXT[quote["start"] : quote["end"]] == quote["quote"]


def test_classify_output_scored_with_eval_predictions_matches_eval(tmp_path, security_home):
    """What a user measures by classifying a label-stripped file equals what eval reports."""
    labelled = [json.loads(line) for line in (DATA / "small_dev_with_security.jsonl").read_text(encoding="utf-8").splitlines()][:12]
    gold = write_jsonl(tmp_path / "gold.jsonl", labelled)
    stripped = write_jsonl(tmp_path / "stripped.jsonl", [{k: v for k, v in d.items() if k not in ("labels", "evidence")} for d in labelled])
    runner = CliRunner()
    classified = runner.invoke(app, ["classify", str(stripped)])
    assert classified.exit_code == 0, classified.stderr
    predictions = tmp_path / "predictions.jsonl"
    predictions.write_text(classified.stdout, encoding="utf-8")
    scored = json.loads(runner.invoke(app, ["eval", str(gold), "--predictions", str(predictions), "--json"]).stdout)
    direct = json.loads(runner.invoke(app, ["eval", str(gold), "--json"]).stdout)
    for key in ("macro_f1", "quiet_false_alarm_rate", "evidence_hit_rate", "per_signal"):
        assert scored[key] == direct[key]
    predictions.write_text(classified.stdout.splitlines()[0] + "\n", encoding="utf-8")
    short = runner.invoke(app, ["eval", str(gold), "--predictions", str(predictions)])
    assert short.exit_code == 2 and "no prediction for 11 documents" in short.stderr


def test_classify_reads_every_format_and_a_bad_line_does_not_stop_the_batch(tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "tickets.jsonl").write_text(
        json.dumps({"id": "t-1", "account_id": "acme", "text": "Please treat this as our notice: we will not renew in June."}) + "\n"
        + "{not json\n"
        + json.dumps({"id": "t-2", "account_id": "acme", "text": "Thanks, the export works now."}) + "\n",
        encoding="utf-8",
    )
    (folder / "call.md").write_text("Maria told us she is leaving the company at the end of the month.\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["classify", str(folder), "--account", "acme"])
    assert result.exit_code == 1
    assert f"{folder / 'tickets.jsonl'}:2: not valid JSON" in result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert {line["id"] for line in lines} >= {"t-1", "t-2"} and len(lines) == 3
