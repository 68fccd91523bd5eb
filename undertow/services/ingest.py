"""`ingest`: read exports into the store, classify and index them; idempotent and incremental."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from undertow.services._shared import Notice, make_classifier, quiet, with_redaction
from undertow.settings import Settings

Progress = Callable[[str, int, int], None]


@dataclass
class IngestResult:
    summary: object  # undertow.ingest.pipeline.IngestSummary
    classifier_note: str | None  # what an LLM backend sent, cached and cost
    quarantine: Path  # where rejected input is kept
    healed: object = None  # undertow.services.llm.HealResult: earlier fallbacks asked again

    @property
    def failed(self) -> int:
        return self.summary.failed


def ingest(
    settings: Settings,
    paths: list[Path],
    *,
    backend: str = "local",
    account: str | None = None,
    column_map: dict[str, str] | None = None,
    own_domains: list[str] = (),
    dayfirst: bool | None = None,
    date_format: str | None = None,
    max_chars: int | None = None,
    on_progress: Progress | None = None,
    on_failure: Callable[[object], None] | None = None,
    on_notice: Notice = quiet,
    redact: bool | None = None,
    workers: int = 1,
) -> IngestResult:
    """`on_failure` hears each rejected line or file, `on_notice` each warning or skipped file.
    With an LLM backend, documents an earlier run left with a fallback verdict are asked again
    afterwards, within the same deadline and cost ceiling; `redact` False sends text unredacted.
    `workers` above 1 embeds in that many processes, each with its share of the cores."""
    from undertow.ingest.pipeline import Ingestor
    from undertow.ingest.sources import ReadOptions
    from undertow.store.home import Home

    options = ReadOptions(
        defaults={"account_id": account} if account else {},
        column_map=dict(column_map or {}),
        own_domains={d.lower() for d in own_domains},
        dayfirst=dayfirst,
        date_format=date_format,
        max_chars=max_chars or settings.max_document_chars,
    )
    settings = with_redaction(settings, redact)
    classifier = make_classifier(backend, settings)
    llm = _llm_of(classifier)
    waiting = set(llm.cache.pending()) if llm is not None else set()
    ingestor = Ingestor(
        Home(settings), classifier, on_progress=on_progress, on_failure=on_failure, on_notice=on_notice, batch_size=settings.ingest_batch,
        workers=workers,
    )
    summary = ingestor.run(paths, options)
    healed = None
    if waiting:
        from undertow.services.llm import heal_fallbacks

        healed = heal_fallbacks(settings, llm, only=waiting)
        if healed.pending:
            on_notice(f"asked the LLM again for {healed.pending} documents that fell back in earlier runs: {healed.healed} answered")
    return IngestResult(summary, classifier.summary(), settings.resolved_home / "quarantine", healed)


def _llm_of(classifier):
    """The LLM classifier inside `classifier` (itself, or a hybrid's judge), if any."""
    from undertow.extractor.llm import LLMClassifier

    for candidate in (classifier, getattr(classifier, "judge", None)):
        if isinstance(candidate, LLMClassifier):
            return candidate
    return None
