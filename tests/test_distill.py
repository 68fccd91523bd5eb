"""`undertow distill`: an LLM (here a loopback server answering from labelled documents) labels a
sample of the stored documents, and the local model learns the team's own way of writing."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import run_ingest, write_jsonl
from undertow.cli.app import app
from undertow.documents import Document
from undertow.eval.datasets import load_documents
from undertow.eval.hybrid_screen import LabelledAnswerServer
from undertow.extractor.distill import STRATA, is_held_back, stratified_sample
from undertow.extractor.local import LocalModel, bundled_model_path, load_local_model

# How this team writes three signals, in words the bundled model does not read as signals.
IDIOMS = {
    "budget_pressure": ["Finance moved the {what} renewal into the red bucket for {when}.", "Procurement put the {what} renewal on the red list for {when}.",
                        "The {what} contract landed in the red bucket again, decision in {when}."],
    "churn_intent": ["They asked us to send over the decommissioning checklist for {what} by {when}.", "Their admin wants a full data export of {what} before {when}.",
                     "We were asked for the offboarding runbook for {what} ahead of {when}."],
    "silent_dissatisfaction": ["Heads-up: the {what} account is going dark, no reply since {when}.", "The {what} team has gone dark on us since {when}.",
                               "{what} went quiet again, nobody showed up since {when}."],
}
QUIET = ["We walked through the {what} dashboard filters and agreed the {when} training plan.",
         "The {what} admins liked the new export settings; the {when} workshop is booked.",
         "Invoice for {what} arrived, and the {when} onboarding call went well."]
OPENERS = ["Weekly sync with Priya.", "Notes from the call with the ops group.", "Check-in with Jonas today."]
WHAT = ["billing", "analytics", "support desk", "warehouse", "HR portal", "field service"]
WHEN = ["Q3", "March", "the summer", "year end", "next quarter"]


def team_corpus() -> list[Document]:
    """30 notes: three in four carry one of the team's idioms, labelled with its quote."""
    docs = []
    for k, (what, when) in enumerate(itertools.product(WHAT, WHEN)):
        signal, templates = list(IDIOMS.items())[k % 3]
        body = QUIET[(k + 1) % 3].format(what=what, when=when)
        labels, evidence = [], {}
        if k % 4 != 3:
            quote = templates[(k // 3) % 3].format(what=what, when=when)
            body, labels, evidence = f"{quote} {body}", [signal], {signal: [quote]}
        docs.append(Document(id=f"t-{k:03d}", account_id=f"acct-{k % 7}", source="call_note", date=f"2026-03-{1 + k % 28:02d}",
                             text=f"{OPENERS[k % 3]} {body}", labels=labels, evidence=evidence))
    return docs


@pytest.fixture()
def stored_corpus(home, settings, embedder):
    """The corpus as a labelled file, ingested: the teacher answers from the same file."""
    rows = [{**d.model_dump(include={"id", "account_id", "source", "text", "labels", "evidence"}), "date": d.date.date().isoformat()} for d in team_corpus()]
    path = write_jsonl(home.parent / "labelled_notes.jsonl", rows)
    run_ingest([path], settings)
    return load_documents(path, labelled=True)


@pytest.fixture()
def teacher(monkeypatch):
    def start(docs: list[Document]) -> LabelledAnswerServer:
        server = LabelledAnswerServer(docs).__enter__()
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        monkeypatch.setenv("UNDERTOW_LLM_MODEL", "teacher")
        monkeypatch.setenv("UNDERTOW_LLM_INPUT_COST_PER_MTOK", "0.15")
        monkeypatch.setenv("UNDERTOW_LLM_OUTPUT_COST_PER_MTOK", "0.60")
        started.append(server)
        return server

    started: list[LabelledAnswerServer] = []
    yield start
    for server in started:
        server.__exit__(None, None, None)


def invoke(*args: str, code: int = 0):
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.output
    return json.loads(result.stdout) if code == 0 and "--json" in args else result


# --- the whole loop -------------------------------------------------------------------------------
@pytest.mark.slow
def test_distill_raises_agreement_with_the_teacher_and_can_be_rolled_back(stored_corpus, teacher, settings):
    server = teacher(stored_corpus)
    bundled = load_local_model()

    result = invoke("distill", "--sample", "30", "--json")

    assert result["asked"] == server.requests == 30 and server.unknown == 0 and result["unanswered"] == 0
    assert result["held_back"] == sum(is_held_back(d.id, 0.3) for d in stored_corpus) and result["teach"] == 30 - result["held_back"]
    assert result["after"]["macro_f1"] > result["before"]["macro_f1"] + 0.2  # the team's idioms are learnt
    assert result["replaced"] and result["model_before"] == bundled.version and result["cost_usd"] > 0
    active = LocalModel.load(settings.user_model_path)
    assert active.version == result["model_after"] and active.card.refit_of == bundled.version

    # The labels are kept: a rerun asks nothing, and the same labels teach the same model again.
    again = invoke("distill", "--sample", "30", "--json")
    assert again["asked"] == 0 and server.requests == 30
    assert not again["replaced"] and again["after"]["macro_f1"] == again["before"]["macro_f1"]
    assert LocalModel.load(settings.user_model_path).version == active.version

    undone = invoke("distill", "--rollback", "--json")
    assert undone["removed"] == active.version and bundled.version in undone["restored"]
    assert not settings.user_model_path.exists()
    assert "nothing to roll back" in invoke("distill", "--rollback", code=2).output


@pytest.mark.slow
def test_a_model_that_agrees_no_better_stays_out(stored_corpus, teacher, settings, embedder):
    from undertow.extractor.local_backend import LocalClassifier

    # A teacher that says exactly what the bundled model says: nothing to gain.
    echoes = LocalClassifier(embedder=embedder).classify(stored_corpus)
    teacher([d.model_copy(update={"labels": r.labels, "evidence": {f.signal: [e.quote for e in f.evidence] for f in r.flags}})
             for d, r in zip(stored_corpus, echoes)])
    table = invoke("distill", "--sample", "30").output
    assert "agrees no better" in table and "macro" in table
    assert not settings.user_model_path.exists() and not settings.user_model_path.with_name("distill.json").exists()


@pytest.mark.slow
def test_rollback_restores_the_homes_own_model_and_refuses_once_it_was_replaced(stored_corpus, teacher, settings):
    settings.user_model_path.parent.mkdir(parents=True)
    shutil.copy(bundled_model_path(), settings.user_model_path)  # a model of the home's own, trained on data
    own = settings.user_model_path.read_bytes()
    teacher(stored_corpus)

    assert invoke("distill", "--sample", "30", "--json")["replaced"]
    # Later refits (feedback, distill) still find the data-trained model they start from.
    assert settings.user_model_path.with_name("local.base.npz").read_bytes() == own
    invoke("distill", "--rollback")
    assert settings.user_model_path.read_bytes() == own

    assert invoke("distill", "--sample", "30", "--json")["replaced"]
    shutil.copy(bundled_model_path(), settings.user_model_path)  # `undertow train` ran since
    assert "was replaced since" in invoke("distill", "--rollback", code=2).output


def test_the_budget_caps_what_the_llm_is_paid(stored_corpus, teacher):
    server = teacher(stored_corpus)
    failed = invoke("distill", "--sample", "30", "--budget", "0", code=2)
    assert "cost ceiling" in failed.output and server.requests == 0


def test_without_an_llm_distill_says_what_to_set(stored_corpus):
    assert "OPENAI_BASE_URL" in invoke("distill", code=2).output


# --- choosing documents -----------------------------------------------------------------------------
def test_the_sample_over_represents_likely_positives_and_keeps_some_quiet():
    tops = {f"likely-{i}": 0.9 for i in range(10)} | {f"unsure-{i}": 0.3 for i in range(30)} | {f"quiet-{i}": 0.01 for i in range(160)}
    chosen = stratified_sample(tops, 40)
    counts = {kind: sum(doc_id.startswith(kind) for doc_id in chosen) for kind in ("likely", "unsure", "quiet")}
    assert len(chosen) == len(set(chosen)) == 40
    # 5% of the corpus is likely positive: every one of them is asked; the short stratum's place goes to the next.
    assert counts["likely"] == 10 and counts["unsure"] >= int(40 * STRATA[1][1]) and counts["quiet"] == int(40 * STRATA[2][1])
    assert stratified_sample(dict(reversed(tops.items())), 40) == chosen  # the order documents come in does not matter
    assert set(stratified_sample(tops, 10)) <= set(chosen)  # a larger sample keeps a smaller one's documents
    assert sorted(stratified_sample(tops, 500)) == sorted(tops)


def test_documents_are_held_back_by_a_stable_hash():
    ids = [f"doc-{i}" for i in range(2000)]
    held = [doc_id for doc_id in ids if is_held_back(doc_id, 0.3)]
    assert 0.25 < len(held) / len(ids) < 0.35
    assert set(held) <= {doc_id for doc_id in ids if is_held_back(doc_id, 0.5)}  # a larger share keeps the smaller one's


@pytest.mark.slow
def test_full_retrains_from_the_data_with_the_labels_as_examples(stored_corpus, teacher, home):
    from undertow.services.distill import distill
    from undertow.settings import load_settings

    data = Path(__file__).parent / "data"
    shutil.copy(data / "security_signal.yaml", home / "signals.yaml")  # the small sets label it
    teacher(stored_corpus)
    settings = load_settings(home)
    result = distill(settings, sample=30, full=True, train_files=[data / "small_train_with_security.jsonl"],
                     dev_files=[data / "small_dev_with_security.jsonl"])
    assert result.kind == "full" and result.replaced
    installed = LocalModel.load(settings.user_model_path)
    assert installed.card.refit_of is None and [Path(entry.path).name for entry in installed.card.train] == ["small_train_with_security.jsonl"]
    assert installed.card.counts["feedback_documents"] == result.teach and "security_concern" in installed.signals


def test_documents_the_teacher_did_not_answer_are_said_to_be_left_unlabelled(stored_corpus, teacher, caplog):
    server = teacher(stored_corpus)
    server.__exit__(None, None, None)  # the endpoint is gone before the run
    with caplog.at_level("WARNING", logger="undertow.extractor.llm"):
        result = CliRunner().invoke(app, ["distill", "--sample", "10"])
    assert result.exit_code != 0
    said = [r.getMessage() for r in caplog.records]
    assert any("left unlabelled" in line for line in said) and not any("fallback classifier" in line for line in said)
