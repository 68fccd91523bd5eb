"""The nightly run: every source ingested, the accounts scored, the outputs written whole."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from undertow.atomic import atomic_path, atomic_write_text
from undertow.errors import EXIT_INPUT_REJECTED, EXIT_OK, ConfigurationError
from undertow.nightly.config import (
    NightlyConfig,
    SourceConfig,
    check_accounts_export,
    load_scorecard,
    prepare_output_folders,
)
from undertow.settings import Settings

# --- the run -------------------------------------------------------------------------------------


@dataclass
class SourceResult:
    name: str
    paths: list[Path]
    read: int = 0
    new: int = 0
    updated: int = 0
    skipped: int = 0  # unchanged since an earlier run
    duplicates: int = 0  # the same words already stored under another id
    rejected: int = 0
    warnings: int = 0
    flagged: int = 0
    failures: list[str] = field(default_factory=list)
    skipped_files: list[str] = field(default_factory=list)
    quarantine: Path | None = None

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "paths": [str(p) for p in self.paths],
            **{k: getattr(self, k) for k in COUNTS},
"failures": self.failures,
            "skipped_files": self.skipped_files,
            "quarantine": str(self.quarantine) if self.quarantine else None,
        }


COUNTS = ("read", "new", "updated", "skipped", "duplicates", "rejected", "warnings", "flagged")


@dataclass
class NightlyReport:
    config_path: Path
    home: Path
    backend: str
    started_at: dt.datetime
    sources: list[SourceResult]
    annotation: object  # health.annotate.Annotation, imported lazily to keep start-up light
    annotated_path: Path
    summary_path: Path | None
    seconds: float = 0.0
    classifier_stats: dict = field(default_factory=dict)
    classifier_note: str = ""
    workers: int = 1

    def totals(self) -> dict[str, int]:
        return {k: sum(getattr(s, k) for s in self.sources) for k in COUNTS}

    @property
    def quarantine(self) -> list[Path]:
        return [s.quarantine for s in self.sources if s.quarantine]

    def review(self) -> list[dict]:
        """Accounts that need a person, most urgent first, with the reasons in plain words."""
        from undertow.health.portfolio import attention_order

        return [
            {"account_id": a.account_id, "account_name": a.name, "band": a.band, "health_score": a.health_score,
             "signals": list(a.qual.active), "reasons": list(a.review_reasons)}
            for a in attention_order(self.annotation.accounts)
            if a.review
        ]

    @property
    def exit_code(self) -> int:
        # cron reads this: 1 means some input was rejected and everything else was stored and scored.
        rejected = self.totals()["rejected"] or self.annotation.bad_input
        return EXIT_INPUT_REJECTED if rejected else EXIT_OK

    def as_dict(self) -> dict:
        annotation = self.annotation
        return {
            "config": str(self.config_path),
            "home": str(self.home),
            "backend": self.backend,
            "workers": self.workers,
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "seconds": round(self.seconds, 3),
            "documents": self.totals(),
            "sources": [s.as_dict() for s in self.sources],
            "quarantine": [str(p) for p in self.quarantine],
            "accounts": {
                "path": str(annotation.table.path),
                "as_of": annotation.as_of.isoformat(),
                "scored": len(annotation.accounts),
                "review": sum(a.review for a in annotation.accounts),
                "bad_rows": annotation.bad_input,
                "problems": [str(p) for p in annotation.problems],
            },
            "review": self.review(),
            "outputs": {"annotated": str(self.annotated_path), "summary": str(self.summary_path) if self.summary_path else None},
            "classifier": self.classifier_stats,
            "exit_code": self.exit_code,
        }


ProgressCallback = Callable[[str, int, int], None]


def run_nightly(
    config: NightlyConfig,
    config_path: Path,
    settings: Settings,
    on_step: Callable[[str], None] | None = None,
    on_progress: ProgressCallback | None = None,
    on_failure: Callable[[object], None] | None = None,
    on_notice: Callable[[str], None] | None = None,
) -> NightlyReport:
    """Ingest every source, then annotate the accounts export and write the outputs."""
    from undertow.store.home import Home

    on_step = on_step or (lambda _: None)
    started_at = dt.datetime.now().astimezone()
    started = time.perf_counter()
    home = Home(settings)
    with one_nightly_at_a_time(home.path, settings.sqlite_url):
        report = _run_locked(config, config_path, settings, home, started_at, on_step, on_progress, on_failure, on_notice)
    report.seconds = time.perf_counter() - started
    if config.outputs.summary is not None:
        write_summary(report, config.outputs.summary)
    return report


@contextmanager
def one_nightly_at_a_time(home: Path, records_url: str | None = None):
    """One nightly run per home, and per database when the records are in PostgreSQL (see
    undertow.store.lock.one_nightly)."""
    from undertow.store.lock import one_nightly

    with one_nightly(home, records_url):
        yield


def _run_locked(config, config_path, settings, home, started_at, on_step, on_progress, on_failure, on_notice) -> NightlyReport:
    from undertow.extractor.backends import make_classifier
    from undertow.health.annotate import annotate_accounts, write_output
    from undertow.ingest.parallel import check_workers

    health_config = load_scorecard(config, home.path)
    check_accounts_export(config)
    prepare_output_folders(config)
    try:
        classifier = make_classifier(config.backend, settings)
    except ValueError as error:  # an LLM backend without an endpoint
        raise ConfigurationError(f"backend: {error}") from None
    # Said before the first source, not after an hour of it.
    check_workers(config.workers, settings.embedding, setting="workers =")

    sources = []
    for source in config.sources:
        on_step(f"ingesting {source.label}")
        sources.append(_ingest_source(home, classifier, source, settings, config.workers, on_progress, on_failure, on_notice))

    on_step(f"scoring {config.accounts.path}")
    annotation = annotate_accounts(
        config.accounts.path, home.records, health_config, config.accounts.day(), config.accounts.map, save=config.accounts.snapshot
    )
    # Whole or not at all: tomorrow's reader must not find half of tonight's list.
    with atomic_path(config.outputs.annotated) as partial:
        write_output(annotation, partial)
    return NightlyReport(
        config_path, home.path, config.backend, started_at, sources, annotation, config.outputs.annotated, config.outputs.summary,
        classifier_stats=classifier.stats,
        classifier_note=classifier.summary() or "",
        workers=config.workers,
    )


def _ingest_source(home, classifier, source: SourceConfig, settings: Settings, workers: int, on_progress, on_failure, on_notice) -> SourceResult:
    from undertow.ingest.pipeline import Ingestor

    # One Ingestor per source: each source has its own read options and its own run record,
    # and the embedding model stays loaded in `home` across them.
    ingestor = Ingestor(
        home, classifier, on_progress=on_progress, on_failure=on_failure, on_notice=on_notice, batch_size=settings.ingest_batch, workers=workers
    )
    summary = ingestor.run(source.paths, source.read_options(settings))
    return SourceResult(
        source.label, source.paths,
        read=summary.read, new=summary.new, updated=summary.updated, skipped=summary.skipped, duplicates=summary.duplicates,
        rejected=summary.failed, warnings=summary.warnings, flagged=summary.flagged,
        failures=list(summary.failures), skipped_files=list(summary.skipped_files),
        quarantine=home.quarantine_dir / f"run-{summary.run_id}.jsonl" if summary.failed else None,
    )


def write_summary(report: NightlyReport, path: Path) -> None:
    # Whole or not at all: a monitor reading the file mid-write must not see half a JSON object.
    atomic_write_text(path, json.dumps(report.as_dict(), ensure_ascii=False, indent=1, default=str) + "\n")
