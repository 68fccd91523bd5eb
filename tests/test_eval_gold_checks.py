"""`undertow eval` refuses a gold set it would score wrongly: a label no signal defines (which
`train` refuses too), or an id on two lines (predictions are looked up by id, so the in-process
figure and the `--predictions` figure used to differ). Both modes, one message: `file:line: reason`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import write_jsonl
from undertow.cli.app import app
from undertow.eval.datasets import DatasetError, load_documents
from undertow.prompts import signal_names

QUIET = {"account_id": "a", "text": "All good here, see you at the QBR.", "labels": [], "evidence": {}}
BUDGET = {"account_id": "a", "text": "Our budget was cut by half.", "labels": ["budget_pressure"], "evidence": {"budget_pressure": ["Our budget was cut by half."]}}
TYPO = {"account_id": "a", "text": "We will cancel at renewal.", "labels": ["churn_intnet"], "evidence": {"churn_intnet": ["We will cancel at renewal."]}}
SIGNALS = ", ".join(sorted(signal_names()))


def _eval(*args: str):
    return CliRunner().invoke(app, ["eval", *map(str, args)])


@pytest.fixture()
def predictions(tmp_path):
    path = tmp_path / "predictions.jsonl"
    path.write_text("".join(json.dumps({"id": i, "labels": []}) + "\n" for i in ("g1", "g2")), encoding="utf-8")
    return path


@pytest.mark.parametrize("mode", ["in-process", "predictions"])
def test_a_label_no_signal_defines_is_refused_with_its_line(tmp_path, predictions, mode):
    gold = write_jsonl(tmp_path / "gold.jsonl", [{"id": "g1", **QUIET}, {"id": "g2", **TYPO}])
    result = _eval(gold, *(["--predictions", predictions] if mode == "predictions" else []))
    assert result.exit_code == 2, result.output
    assert f"error: {gold}:2: labels ['churn_intnet'] are not defined (the signals are {SIGNALS}; a new signal is added in the home's signals.yaml)" in " ".join(result.stderr.split())


@pytest.mark.parametrize("mode", ["in-process", "predictions"])
def test_an_id_on_two_lines_is_refused(tmp_path, predictions, mode):
    gold = write_jsonl(tmp_path / "gold.jsonl", [{"id": "g1", **BUDGET}, {"id": "g2", **QUIET}, {"id": "g1", **QUIET}])
    result = _eval(gold, *(["--predictions", predictions] if mode == "predictions" else []))
    assert result.exit_code == 2, result.output
    assert f"error: {gold}:3: id g1 repeats line 1" in " ".join(result.stderr.split())


def test_the_signals_are_the_homes(tmp_path, home, predictions):
    """A signal the home adds in its signals.yaml is a label its gold sets may use."""
    security = {"account_id": "a", "text": "Your SSO leaked our data.", "labels": ["security_concern"], "evidence": {"security_concern": ["SSO leaked"]}}
    gold = write_jsonl(tmp_path / "gold.jsonl", [{"id": "g1", **security}, {"id": "g2", **QUIET}])
    with pytest.raises(DatasetError, match=r"gold.jsonl:1: labels \['security_concern'\] are not defined"):
        load_documents(gold, labelled=True, signals=signal_names())
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(__file__).parent / "data" / "security_signal.yaml", home / "signals.yaml")
    result = _eval(gold, "--predictions", predictions, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["per_signal"]["security_concern"]["support"] == 1


def test_a_clean_gold_set_is_still_scored(tmp_path, predictions):
    gold = write_jsonl(tmp_path / "gold.jsonl", [{"id": "g1", **BUDGET}, {"id": "g2", **QUIET}])
    result = _eval(gold, "--predictions", predictions, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n_docs"] == 2


@pytest.mark.parametrize(
    "lines, message",
    [
        ([{"id": "g1", "labels": ["churn-intent"]}, {"id": "g2", "labels": []}], ":1: labels ['churn-intent'] are not defined"),
        ([{"id": "g1", "labels": "budget_pressure"}, {"id": "g2", "labels": []}], ":1: 'labels' must be a list of signal names"),
        ([{"id": "g1", "labels": ["budget_pressure"]}, {"id": "g1", "labels": []}, {"id": "g2"}], ":2: id 'g1' again (first on line 1)"),
        ([{"id": "g1", "labels": ["budget_pressure"], "evidence": ["Our budget"]}, {"id": "g2"}], ":1: 'evidence' must map each signal to a list of quotes"),
        ([{"labels": []}], ":1: not a classify output line"),
    ],
)
def test_predictions_are_held_to_what_classify_writes(tmp_path, lines, message):
    gold = write_jsonl(tmp_path / "gold.jsonl", [{"id": "g1", **BUDGET}, {"id": "g2", **QUIET}])
    predicted = write_jsonl(tmp_path / "predicted.jsonl", lines)
    result = _eval(gold, "--predictions", predicted, "--json")
    assert result.exit_code == 2, result.output
    assert message in json.loads(result.stdout)["error"]


def test_numeric_prediction_ids_meet_the_gold_set_s(tmp_path):
    gold = write_jsonl(tmp_path / "gold.jsonl", [{"id": 7, **BUDGET}, {"id": 8, **QUIET}])
    predicted = write_jsonl(tmp_path / "predicted.jsonl", [{"id": 7, "labels": ["budget_pressure"]}, {"id": 8, "labels": []}])
    result = _eval(gold, "--predictions", predicted, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["per_signal"]["budget_pressure"]["f1"] == 1.0


def test_an_empty_gold_set_is_refused_rather_than_scored_zero(tmp_path, predictions):
    gold = tmp_path / "empty.jsonl"
    gold.write_text("", encoding="utf-8")
    result = _eval(gold, "--predictions", predictions, "--json")
    assert result.exit_code == 2 and "no labelled documents" in json.loads(result.stdout)["error"]


def test_predictions_with_a_backend_option_is_refused(tmp_path, predictions):
    gold = write_jsonl(tmp_path / "gold.jsonl", [{"id": "g1", **BUDGET}, {"id": "g2", **QUIET}])
    result = _eval(gold, "--predictions", predictions, "--compare", "local", "--json")
    assert result.exit_code == 2 and "pick one" in json.loads(result.stdout)["error"]
