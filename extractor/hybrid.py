"""The `hybrid` backend: the local classifier screens every document, the LLM reads only the
suspicious ones, confirms or rejects the signals and supplies the evidence.

Most customer traffic is quiet, so a recall-oriented screen saves most of the LLM bill while
losing few signals. A document is sent when its local confidence for any signal reaches the
screening threshold; the rest keep the local verdict (backend "local").
"""

from __future__ import annotations

from undertow.documents import Document
from undertow.extractor.llm import CACHE_FILE, LLMClassifier, require_endpoint
from undertow.extractor.llm_cache import AnswerCache
from undertow.extractor.results import Classification
from undertow.extractor.sentences import EmbeddedText, embed_texts
from undertow.settings import Settings


class HybridClassifier:
    name = "hybrid"

    def __init__(self, llm: LLMClassifier, screen_threshold: float):
        self.llm = llm
        self.screen_threshold = screen_threshold
        self._screened = 0
        self._routed = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> "HybridClassifier":
        require_endpoint(settings.llm, backend="hybrid")
        llm = LLMClassifier(settings.llm, AnswerCache(settings.resolved_home / CACHE_FILE))
        return cls(llm, settings.llm.screen_threshold)

    @property
    def local(self):
        return self.llm.local

    @property
    def stats(self) -> dict:
        """The LLM stage's figures plus the screen's: `sent_share` is the share of documents
        routed to the LLM (cached answers included); `sent` counts actual requests."""
        share = self._routed / self._screened if self._screened else 0.0
        return {**self.llm.stats, "screened": self._screened, "routed": self._routed, "sent_share": round(share, 4)}

    def summary(self) -> str:
        return f"hybrid: {self._routed} of {self._screened} documents passed the local screen; " + self.llm.summary()

    def passes_screen(self, result: Classification) -> bool:
        return max(result.confidence.values(), default=0.0) >= self.screen_threshold

    def classify(self, docs: list[Document], embedded: list[EmbeddedText] | None = None) -> list[Classification]:
        # Embedded once here; the LLM stage's fallbacks reuse the same vectors.
        embedded = embedded if embedded is not None else embed_texts([d.text for d in docs], self.local.embedder)
        results = self.local.classify(docs, embedded)
        routed = [i for i, result in enumerate(results) if self.passes_screen(result)]
        confirmed = self.llm.classify([docs[i] for i in routed], [embedded[i] for i in routed])
        for i, result in zip(routed, confirmed):
            results[i] = result
        self._screened += len(docs)
        self._routed += len(routed)
        return results
