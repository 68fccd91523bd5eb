"""The `hybrid` backend: a cheap screen reads every document, a judge reads only the suspicious
ones. From settings, the screen is the local classifier and the judge the LLM, which confirms or
rejects the signals and supplies the evidence.

Most customer traffic is quiet, so a recall-oriented screen saves most of the LLM bill while
losing few signals. A document goes to the judge when the screen's confidence for any signal
reaches the threshold; the rest keep the screen's verdict.
"""

from __future__ import annotations

from undertow.documents import Document
from undertow.extractor.backends import Classifier
from undertow.extractor.llm import CACHE_FILE, LLMClassifier, require_endpoint
from undertow.extractor.llm_cache import AnswerCache
from undertow.extractor.local_backend import LocalClassifier
from undertow.extractor.results import Classification
from undertow.extractor.sentences import EmbeddedText
from undertow.settings import Settings


class HybridClassifier(Classifier):
    name = "hybrid"

    def __init__(self, screen: Classifier, judge: Classifier, threshold: float):
        self.screen = screen
        self.judge = judge
        self.threshold = threshold
        self._screened = 0
        self._routed = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> "HybridClassifier":
        require_endpoint(settings.llm, backend="hybrid")
        local = LocalClassifier.from_settings(settings)
        # One local classifier serves as the screen and as the judge's fallback.
        judge = LLMClassifier(settings.llm, AnswerCache(settings.resolved_home / CACHE_FILE), fallback=local)
        return cls(screen=local, judge=judge, threshold=settings.llm.screen_threshold)

    @property
    def stats(self) -> dict:
        """The judge's figures plus the routing: `sent_share` is the share of documents routed to
        the judge (for the LLM, cached answers included; its `sent` counts actual requests)."""
        share = self._routed / self._screened if self._screened else 0.0
        return {**self.judge.stats, "screened": self._screened, "routed": self._routed, "sent_share": round(share, 4)}

    def summary(self) -> str:
        routing = f"{self.name}: {self._routed} of {self._screened} documents passed the {self.screen.name} screen"
        judged = self.judge.summary()
        return f"{routing}; {judged}" if judged else routing

    def passes_screen(self, result: Classification) -> bool:
        return max(result.confidence.values(), default=0.0) >= self.threshold

    def classify(self, docs: list[Document], embedded: list[EmbeddedText] | None = None) -> list[Classification]:
        results = self.screen.classify(docs, embedded)
        routed = [i for i, result in enumerate(results) if self.passes_screen(result)]
        # The caller's vectors, when it has them, spare the judge's fallback embedding again.
        routed_embedded = [embedded[i] for i in routed] if embedded is not None else None
        judged = self.judge.classify([docs[i] for i in routed], routed_embedded)
        for i, result in zip(routed, judged):
            results[i] = result
        self._screened += len(docs)
        self._routed += len(routed)
        return results
