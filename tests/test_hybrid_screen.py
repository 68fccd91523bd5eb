"""The hybrid screen, calibrated per signal: thresholds chosen for a budget, stored beside the model
by version, read by `--backend hybrid`, and measured through a loopback server answering from labels."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from undertow.documents import Document
from undertow.errors import CorruptFileError
from undertow.eval.datasets import bundled_path, load_documents
from undertow.eval.hybrid_screen import (
    OLD_THRESHOLD,
    LabelledAnswerServer,
    ScreenScores,
    choose_thresholds,
    measure,
    screen_entry,
    single_threshold,
)
from undertow.extractor.backends import Classifier
from undertow.extractor.hybrid import HybridClassifier, bundled_screen_path, read_screens
from undertow.extractor.local import load_local_model
from undertow.extractor.results import Classification
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
    assert scores.figures(np.array(list(thresholds.values())))["recall_sent"]["rare"] > scores.figures(flat)["recall_sent"]["rare"]


def test_a_full_budget_sends_everything():
    _, thresholds = choose_thresholds(synthetic_scores(), 1.0)
    assert set(thresholds.values()) == {0.0}


def test_the_bundled_model_has_its_screen():
    model = load_local_model()
    entry = read_screens(bundled_screen_path()).get(model.version)
    assert entry is not None, f"no screen for {model.version}: run `python -m undertow.eval.hybrid_screen --write`"
    assert set(entry["thresholds"]) == set(model.signals)
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
    mine = {signal: 0.05 * (k + 1) for k, signal in enumerate(model.signals)}
    settings.user_model_path.with_name("screen.json").write_text(json.dumps({"models": {model.version: {"thresholds": mine}}}), encoding="utf-8")
    assert HybridClassifier.from_settings(settings).thresholds == mine


@pytest.mark.parametrize("content", ["{not json", '{"models": []}', '{"models": {"VERSION": {"thresholds": {"churn_intent": "high"}}}}'])
def test_a_damaged_screen_file_is_named_with_the_command_that_remakes_it(settings, content):
    model = home_model(settings)
    settings.user_model_path.with_name("screen.json").write_text(content.replace("VERSION", model.version), encoding="utf-8")
    with pytest.raises(CorruptFileError, match=r"screen\.json.*hybrid_screen --write"):
        HybridClassifier.from_settings(settings)


def test_a_refit_model_uses_the_screen_of_the_model_it_was_refit_from(settings):
    bundled = load_local_model()
    home_model(settings, version="local-refit", refit_of=bundled.version)
    assert HybridClassifier.from_settings(settings).thresholds == read_screens(bundled_screen_path())[bundled.version]["thresholds"]


def test_a_model_without_a_screen_uses_one_threshold_and_says_so(settings, caplog):
    home_model(settings, version="local-elsewhere", refit_of=None)
    with caplog.at_level(logging.WARNING, logger="undertow.extractor.hybrid"):
        hybrid = HybridClassifier.from_settings(settings)
    assert hybrid.thresholds == {} and hybrid.threshold == settings.llm.screen_threshold
    assert "local-elsewhere" in caplog.text and "hybrid_screen --write" in caplog.text


def test_a_threshold_the_user_set_applies_to_every_signal(settings, home):
    (home / "config.toml").write_text("[llm]\nscreen_threshold = 0.7\n", encoding="utf-8")
    hybrid = HybridClassifier.from_settings(load_settings(home))
    assert hybrid.thresholds == {} and hybrid.threshold == 0.7


class Fixed(Classifier):
    """Returns the confidences it was given per document id; records what it was asked."""

    name = "fixed"

    def __init__(self, confidence: dict[str, dict[str, float]]):
        self.confidence, self.asked = confidence, []

    @classmethod
    def from_settings(cls, settings):
        raise NotImplementedError

    def classify(self, docs, embedded=None):
        self.asked += [d.id for d in docs]
        return [Classification(doc_id=d.id, confidence=self.confidence.get(d.id, {}), backend=self.name, model_version="t") for d in docs]


def test_each_signal_sends_by_its_own_threshold():
    screen = Fixed({"rare-hint": {"rare": 0.15, "common": 0.1}, "common-weak": {"rare": 0.01, "common": 0.5},
                    "common-strong": {"rare": 0.01, "common": 0.95}, "new-signal": {"theirs": 0.45}})
    judge = Fixed({})
    hybrid = HybridClassifier(screen, judge, threshold=0.4, thresholds={"rare": 0.1, "common": 0.9})
    hybrid.classify([Document(id=i, account_id="a", text="x") for i in screen.confidence])
    # A signal the screen file does not know (a home's own) keeps the one threshold.
    assert judge.asked == ["rare-hint", "common-strong", "new-signal"]


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
    thresholds = entry["thresholds"]
    measured = measure(model, {"dev": docs}, {"dev": embedded}, entry, single_threshold(scores, 0.3))
    rows = measured["dev"]["rows"]
    assert measured["server"] == {"requests": len(docs), "unknown_texts": 0}  # the hybrid runs reuse the llm run's answers
    assert rows["llm"]["macro_f1"] == 1.0 and rows["llm"]["vs_llm"] == 0.0
    assert rows[f"hybrid, old screen: top confidence >= {OLD_THRESHOLD}"]["sent_share"] == round((scores.confidence.max(axis=1) >= OLD_THRESHOLD).mean(), 4)
    assert rows["hybrid, per-signal screen"]["sent_share"] == round(scores.sent(np.array([thresholds[s] for s in model.signals])).mean(), 4) <= 0.3
    assert rows["local"]["macro_f1"] <= rows["hybrid, per-signal screen"]["macro_f1"] <= 1.0
