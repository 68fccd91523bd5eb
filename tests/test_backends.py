"""Backends share one base class, are found through entry points, and compose (hybrid)."""

from __future__ import annotations

import inspect
import sys
from importlib.metadata import entry_points

import pytest

from undertow.documents import Document
from undertow.extractor.backends import ENTRY_POINT_GROUP, Classifier, available_backends, backend_class, make_classifier
from undertow.extractor.hybrid import HybridClassifier
from undertow.extractor.results import Classification

BUILT_IN = {"local", "llm", "hybrid"}


def doc(doc_id: str) -> Document:
    return Document(id=doc_id, account_id="acme", source="email", date="2026-03-02", text=f"note {doc_id}")


class RecordingClassifier(Classifier):
    """Scores each document from a table and remembers what it was given."""

    name = "recording"

    def __init__(self, scores: dict[str, float] | None = None, label: str = "recording"):
        self.scores = scores or {}
        self.label = label
        self.received: list[tuple[list[str], list | None]] = []

    @classmethod
    def from_settings(cls, settings) -> "RecordingClassifier":
        return cls()

    def classify(self, docs, embedded=None) -> list[Classification]:
        self.received.append(([d.id for d in docs], embedded))
        return [
            Classification(doc_id=d.id, confidence={"budget_pressure": self.scores.get(d.id, 0.0)}, backend=self.label, model_version="test")
            for d in docs
        ]


class JudgeWithStats(RecordingClassifier):
    @property
    def stats(self) -> dict:
        return {"sent": sum(len(ids) for ids, _ in self.received), "cost_usd": 0.5}

    def summary(self) -> str:
        return "judge: paid $0.50"


# --- the registry -----------------------------------------------------------------------------------
def test_the_built_in_backends_are_registered_as_entry_points():
    # The package metadata itself, not the source-tree fallback: pyproject.toml must declare them.
    assert {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)} >= BUILT_IN


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_every_registered_backend_is_a_complete_classifier(name):
    cls = backend_class(name)
    assert issubclass(cls, Classifier) and not inspect.isabstract(cls)
    assert cls.name == name
    assert cls.from_settings.__func__ is not Classifier.from_settings.__func__


def test_an_unknown_backend_names_the_ones_there_are(settings):
    with pytest.raises(ValueError) as error:
        make_classifier("gpt-magic", settings)
    assert "'gpt-magic'" in str(error.value)
    for name in BUILT_IN:
        assert name in str(error.value)


PLUGIN_MODULE = '''
from undertow.extractor.backends import Classifier
from undertow.extractor.results import Classification


class EchoClassifier(Classifier):
    name = "echo"

    def __init__(self, home):
        self.home = home

    @classmethod
    def from_settings(cls, settings):
        return cls(settings.resolved_home)

    def classify(self, docs, embedded=None):
        return [Classification(doc_id=d.id, backend=self.name, model_version="echo-1") for d in docs]


class NotAClassifier:
    name = "impostor"
'''


@pytest.fixture()
def plugin_on_path(tmp_path, monkeypatch):
    """An installed plugin package as the import system sees one: a module and a dist-info folder
    whose entry_points.txt declares two backends, one of them broken."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "undertow_echo_plugin.py").write_text(PLUGIN_MODULE, encoding="utf-8")
    dist_info = site / "undertow_echo_plugin-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: undertow-echo-plugin\nVersion: 0.1\n", encoding="utf-8")
    (dist_info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\necho = undertow_echo_plugin:EchoClassifier\nimpostor = undertow_echo_plugin:NotAClassifier\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(site))
    yield
    sys.modules.pop("undertow_echo_plugin", None)


def test_a_plugin_package_adds_a_backend_with_only_an_entry_point(plugin_on_path, settings):
    assert {"echo", *BUILT_IN} <= set(available_backends())
    classifier = make_classifier("echo", settings)
    assert isinstance(classifier, Classifier) and classifier.home == settings.resolved_home
    [result] = classifier.classify([doc("a")])
    assert (result.doc_id, result.backend) == ("a", "echo")
    assert classifier.stats == {} and classifier.summary() is None


def test_a_plugin_entry_point_that_is_not_a_classifier_is_named(plugin_on_path, settings):
    with pytest.raises(TypeError, match="impostor.*undertow_echo_plugin:NotAClassifier"):
        make_classifier("impostor", settings)


def test_without_a_plugin_its_backend_is_unknown(settings):
    assert "echo" not in available_backends()


# --- hybrid ------------------------------------------------------------------------------------------
def test_hybrid_sends_only_documents_over_the_screen_threshold_to_the_judge():
    docs = [doc("quiet"), doc("risky"), doc("borderline"), doc("calm")]
    screen = RecordingClassifier({"quiet": 0.1, "risky": 0.9, "borderline": 0.6, "calm": 0.59}, label="screen")
    judge = JudgeWithStats(label="judge")
    hybrid = HybridClassifier(screen=screen, judge=judge, threshold=0.6)
    embedded = ["v-quiet", "v-risky", "v-borderline", "v-calm"]  # opaque to both fakes

    results = hybrid.classify(docs, embedded)

    assert screen.received == [(["quiet", "risky", "borderline", "calm"], embedded)]
    assert judge.received == [(["risky", "borderline"], ["v-risky", "v-borderline"])]
    assert [(r.doc_id, r.backend) for r in results] == [("quiet", "screen"), ("risky", "judge"), ("borderline", "judge"), ("calm", "screen")]


def test_hybrid_stats_add_the_routing_to_the_judges_figures():
    judge = JudgeWithStats()
    hybrid = HybridClassifier(screen=RecordingClassifier({"a": 0.9}), judge=judge, threshold=0.5)
    hybrid.classify([doc("a"), doc("b")])
    hybrid.classify([doc("c")])  # figures add up across batches
    assert hybrid.stats == {"sent": 1, "cost_usd": 0.5, "screened": 3, "routed": 1, "sent_share": round(1 / 3, 4)}
    assert hybrid.summary() == "hybrid: 1 of 3 documents passed the recording screen; judge: paid $0.50"


def test_hybrid_with_a_quiet_judge_still_summarises_its_routing():
    hybrid = HybridClassifier(screen=RecordingClassifier(), judge=RecordingClassifier(), threshold=0.5)
    hybrid.classify([doc("a")])
    assert hybrid.summary() == "hybrid: 0 of 1 documents passed the recording screen"


# --- defaults ------------------------------------------------------------------------------------------
def test_the_local_classifier_reports_nothing_rather_than_lacking_stats(embedder):
    from undertow.extractor.local_backend import LocalClassifier

    local = LocalClassifier(embedder=embedder)
    local.classify([doc("a")])
    assert local.stats == {} and local.summary() is None
