"""The hybrid screen, calibrated per signal: thresholds chosen for a budget, stored beside the model
by version, read by `--backend hybrid`, and measured through a loopback server answering from labels."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from undertow.documents import Document
from undertow.errors import CorruptFileError
from undertow.eval.datasets import bundled_path, load_documents
from undertow.eval.hybrid_screen import (
    DOUBT_ROW,
    OLD_THRESHOLD,
    LabelledAnswerServer,
    ScreenScores,
    choose_cut,
    choose_thresholds,
    doubt_weights,
    measure,
    rule_of,
    screen_entry,
    single_threshold,
)
from undertow.extractor.backends import Classifier
from undertow.extractor.hybrid import DoubtRule, HybridClassifier, bundled_screen_path, read_screens
from undertow.extractor.local import load_local_model
from undertow.extractor.results import Classification, Evidence, SignalFlag
from undertow.settings import load_settings


def synthetic_scores(seed: int = 0) -> ScreenScores:
    """400 documents, a rare signal (4%) and a common one (30%); positives score higher, noisily."""
    rng = np.random.default_rng(seed)
    present = np.column_stack([rng.random(400) < 0.04, rng.random(400) < 0.30])
    confidence = np.clip(np.round(0.25 * present + rng.random((400, 2)) * 0.75, 4), 0, 1)
    return ScreenScores(["rare", "common"], confidence, present, np.ones_like(present))


@pytest.mark.parametrize("budget", [0.1, 0.25, 0.4])
def test_thresholds_scale_with_base_rates_and_keep_within_the_budget(budget):
    scores = synthetic_scores()
    tau, thresholds = choose_thresholds(scores, budget)
    sent = scores.sent(np.array([thresholds["rare"], thresholds["common"]])).mean()
    assert budget - 0.02 <= sent <= budget
    rates = scores.base_rates()
    assert thresholds["rare"] < thresholds["common"]  # each rare positive weighs more in macro F1
    for threshold, rate in zip(thresholds.values(), rates):
        assert tau * rate < threshold <= tau * rate + 1e-4 + 1e-9  # the next four-decimal value above
    # At the same budget, one threshold on the top confidence reaches fewer of the rare signal's positives.
    flat = np.full(2, single_threshold(scores, budget))
    assert scores.figures(scores.sent(np.array(list(thresholds.values()))))["recall_sent"]["rare"] > scores.figures(scores.sent(flat))["recall_sent"]["rare"]


@pytest.mark.parametrize("budget", [0.1, 0.25, 0.4])
def test_the_doubt_cut_keeps_within_the_budget_and_a_rare_signals_doubt_weighs_more(budget):
    scores = synthetic_scores()
    weights = doubt_weights(scores)
    assert weights[0] > weights[1]  # the rare signal's
    sent = scores.doubt(weights) >= choose_cut(scores, weights, budget)
    assert budget - 0.02 <= sent.mean() <= budget
    # A document the model flags with confidence 0.95 is less in doubt than one it leaves at 0.5.
    sure = ScreenScores(["rare", "common"], np.array([[0.0, 0.95], [0.0, 0.5]]), np.zeros((2, 2), bool), np.ones((2, 2), bool),
                        np.array([[False, True], [False, False]]))
    assert sure.doubt(weights)[0] < sure.doubt(weights)[1]


def test_a_full_budget_sends_everything():
    _, thresholds = choose_thresholds(synthetic_scores(), 1.0)
    assert set(thresholds.values()) == {0.0}


def test_the_bundled_model_has_its_screen():
    model = load_local_model()
    entry = read_screens(bundled_screen_path()).get(model.version)
    assert entry is not None, f"no screen for {model.version}: run `python -m undertow.eval.hybrid_screen --write`"
    assert set(entry["weights"]) == set(model.signals) and entry["cut"] > 0
    assert entry["development"][entry["budgeted_on"]]["sent_share"] <= entry["budget"]


# --- read by the backend ------------------------------------------------------------------------------
@pytest.fixture()
def settings(monkeypatch, home):
    """This home's settings with an endpoint, never dialled: nothing is classified."""
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    return load_settings(home)


def home_model(settings, **card):
    """The bundled model saved as this home's, its card changed as given."""
    model = load_local_model()
    model.card = model.card.model_copy(update=card)
    model.save(settings.user_model_path)
    return model


def test_hybrid_reads_the_screen_beside_the_homes_model(settings):
    model = home_model(settings)
    mine = {signal: 1.0 + k for k, signal in enumerate(model.signals)}
    settings.user_model_path.with_name("screen.json").write_text(json.dumps({"models": {model.version: {"weights": mine, "cut": 2.5}}}), encoding="utf-8")
    assert HybridClassifier.from_settings(settings).doubt == DoubtRule(mine, 2.5)


def test_an_older_screen_of_per_signal_thresholds_is_still_read(settings):
    model = home_model(settings)
    mine = {signal: 0.05 * (k + 1) for k, signal in enumerate(model.signals)}
    settings.user_model_path.with_name("screen.json").write_text(json.dumps({"models": {model.version: {"thresholds": mine}}}), encoding="utf-8")
    hybrid = HybridClassifier.from_settings(settings)
    assert hybrid.thresholds == mine and hybrid.doubt is None


@pytest.mark.parametrize("content", [
    "{not json", '{"models": []}', '{"models": {"VERSION": {"thresholds": {"churn_intent": "high"}}}}',
    '{"models": {"VERSION": {"cut": -1, "weights": {}}}}', '{"models": {"VERSION": {"cut": 1.5}}}', '{"models": {"VERSION": {}}}',
])
def test_a_damaged_screen_file_is_named_with_the_command_that_remakes_it(settings, content):
    model = home_model(settings)
    settings.user_model_path.with_name("screen.json").write_text(content.replace("VERSION", model.version), encoding="utf-8")
    with pytest.raises(CorruptFileError, match=r"screen\.json.*hybrid_screen --write"):
        HybridClassifier.from_settings(settings)


def test_a_refit_model_uses_the_screen_of_the_model_it_was_refit_from(settings):
    bundled = load_local_model()
    home_model(settings, version="local-refit", refit_of=bundled.version)
    assert HybridClassifier.from_settings(settings).doubt == rule_of(read_screens(bundled_screen_path())[bundled.version])


def test_a_model_without_a_screen_uses_one_threshold_and_says_so(settings, caplog):
    home_model(settings, version="local-elsewhere", refit_of=None)
    with caplog.at_level(logging.WARNING, logger="undertow.extractor.hybrid"):
        hybrid = HybridClassifier.from_settings(settings)
    assert hybrid.thresholds == {} and hybrid.doubt is None and hybrid.threshold == settings.llm.screen_threshold
    assert "local-elsewhere" in caplog.text and "hybrid_screen --write" in caplog.text


def test_a_threshold_the_user_set_applies_to_every_signal(settings, home):
    (home / "config.toml").write_text("[llm]\nscreen_threshold = 0.7\n", encoding="utf-8")
    hybrid = HybridClassifier.from_settings(load_settings(home))
    assert hybrid.thresholds == {} and hybrid.doubt is None and hybrid.threshold == 0.7


def test_the_judge_keeps_the_homes_audit_log_and_signals_as_the_llm_backend_does(settings, home, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    (home / "signals.yaml").write_text((Path(__file__).parent / "data" / "security_signal.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    judge = HybridClassifier.from_settings(load_settings(home)).judge
    assert "security_concern" in judge.prompt.signals
    assert judge._chat.audit.path == home / "llm_audit.jsonl"  # README: every request is logged there


class Fixed(Classifier):
    """Returns the confidences it was given per document id; records what it was asked."""

    name = "fixed"

    def __init__(self, confidence: dict[str, dict[str, float]], flagged: dict[str, list[str]] | None = None):
        self.confidence, self.flagged, self.asked = confidence, flagged or {}, []

    @classmethod
    def from_settings(cls, settings):
        raise NotImplementedError

    def classify(self, docs, embedded=None):
        self.asked += [d.id for d in docs]
        return [
            Classification(
                doc_id=d.id, confidence=self.confidence.get(d.id, {}), backend=self.name, model_version="t",
                flags=[SignalFlag(signal=s, confidence=self.confidence[d.id][s], evidence=[Evidence(quote=d.text, start=0, end=len(d.text))])
                       for s in self.flagged.get(d.id, [])],
            )
            for d in docs
        ]


def test_each_signal_sends_by_its_own_threshold():
    screen = Fixed({"rare-hint": {"rare": 0.15, "common": 0.1}, "common-weak": {"rare": 0.01, "common": 0.5},
                    "common-strong": {"rare": 0.01, "common": 0.95}, "new-signal": {"theirs": 0.45}})
    judge = Fixed({})
    hybrid = HybridClassifier(screen, judge, threshold=0.4, thresholds={"rare": 0.1, "common": 0.9})
    hybrid.classify([Document(id=i, account_id="a", text="x") for i in screen.confidence])
    # A signal the screen file does not know (a home's own) keeps the one threshold.
    assert judge.asked == ["rare-hint", "common-strong", "new-signal"]


def test_the_doubt_rule_sends_what_the_screen_is_unsure_of_and_keeps_what_it_is_sure_of_either_way():
    screen = Fixed(
        {"sure-quiet": {"rare": 0.01, "common": 0.05}, "sure-flagged": {"rare": 0.01, "common": 0.98},
         "common-doubt": {"rare": 0.0, "common": 0.6}, "rare-hint": {"rare": 0.15, "common": 0.0}, "new-signal": {"theirs": 0.2}},
        flagged={"sure-flagged": ["common"]},
    )
    judge = Fixed({})
    hybrid = HybridClassifier(screen, judge, threshold=0.4, doubt=DoubtRule({"rare": 4.0, "common": 1.0}, cut=0.5))
    results = hybrid.classify([Document(id=i, account_id="a", text="x") for i in screen.confidence])
    # The rare signal's faint hint outweighs its confidence; a signal the rule does not know weighs as the rarest.
    assert judge.asked == ["common-doubt", "rare-hint", "new-signal"]
    assert results[1].labels == ["common"] and results[1].backend == "fixed"  # kept as the screen flagged it


# --- the judge that answers from labels -----------------------------------------------------------------
def test_the_labelled_server_answers_through_the_llm_backend_with_the_gold_labels(home):
    from undertow.extractor.llm import LLMClassifier
    from undertow.extractor.llm_cache import AnswerCache
    from undertow.settings import LLMSettings

    docs = [d for d in load_documents(bundled_path("dev"), labelled=True) if d.labels][:3]
    stranger = Document(id="stranger", account_id="a", text="A text nobody labelled, about <text> tags.")
    with LabelledAnswerServer(docs) as server:
        llm = LLMClassifier(LLMSettings(base_url=server.url, api_key="k", model="labels"), AnswerCache(home / "cache.sqlite"))
        results = llm.classify(docs + [stranger])
    assert [sorted(r.labels) for r in results] == [sorted(d.labels) for d in docs] + [[]]
    assert server.requests == 4 and server.unknown == 1


@pytest.mark.slow
def test_measure_routes_as_the_calibration_predicts(embedder):
    from undertow.extractor.sentences import embed_texts

    model = load_local_model()
    docs = load_documents(bundled_path("dev"), labelled=True)[:30]
    embedded = embed_texts([d.text for d in docs], embedder)
    scores = ScreenScores.of(model, docs, embedded)
    entry = screen_entry(model, {"dev": scores}, 0.3)
    _, previous = choose_thresholds(scores, 0.3)
    measured = measure(model, {"dev": docs}, {"dev": embedded}, entry, single_threshold(scores, 0.3), previous)
    rows = measured["dev"]["rows"]
    assert measured["server"] == {"requests": len(docs), "unknown_texts": 0}  # the hybrid runs reuse the llm run's answers
    assert rows["llm"]["macro_f1"] == 1.0 and rows["llm"]["vs_llm"] == 0.0
    assert rows[f"hybrid, old screen: top confidence >= {OLD_THRESHOLD}"]["sent_share"] == round((scores.confidence.max(axis=1) >= OLD_THRESHOLD).mean(), 4)
    assert rows["hybrid, per-signal thresholds (same budget)"]["sent_share"] == round(scores.sent(np.array([previous[s] for s in model.signals])).mean(), 4) <= 0.3
    weights = np.array([entry["weights"][s] for s in model.signals])
    assert rows[DOUBT_ROW]["sent_share"] == round((scores.doubt(weights) >= entry["cut"]).mean(), 4) <= 0.3
    assert rows["local"]["macro_f1"] <= rows[DOUBT_ROW]["macro_f1"] <= 1.0
    dev = measured["dev"]
    assert dev["share_needed_knowing_mistakes"] <= dev["local_wrong_share"] + 0.01 and dev["share_needed_knowing_mistakes"] <= dev["share_needed"]
