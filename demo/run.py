"""The whole job on a generated portfolio: write the files, ingest, annotate twice, backtest."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from undertow.demo.files import DemoFiles, write_portfolio
from undertow.demo.portfolio import DEMO_DATE, PREVIOUS_DATE, Portfolio, build_portfolio
from undertow.errors import InputError
from undertow.health.annotate import Annotation, annotate_accounts
from undertow.health.backtest import backtest
from undertow.health.accounts import read_outcomes
from undertow.health.config import HealthConfig, load_home_config
from undertow.ingest.pipeline import IngestSummary, Ingestor
from undertow.ingest.sources import ReadOptions
from undertow.store.home import Home


@dataclass
class DemoResult:
    portfolio: Portfolio
    files: DemoFiles
    ingest: IngestSummary
    annotation: Annotation
    backtest: dict

    def hidden_risks_caught(self) -> list:
        """Accounts green on numbers that the combined score sends to review because of what was said."""
        return [a for a in self.annotation.accounts if a.quant_band == "green" and a.review and a.qual.active]

    @property
    def planted(self) -> set[str]:
        """The accounts the generator made green on numbers with serious signals in their documents."""
        return {a.account_id for a in self.portfolio.accounts if a.archetype == "hidden_risk"}


def check_home_is_free(home: Home, portfolio: Portfolio) -> None:
    """The demo writes into the store; it must not mix invented accounts with a team's real ones."""
    demo_ids = {a.account_id for a in portfolio.accounts}
    others = [row["account_id"] for row in home.records.accounts() if row["account_id"] not in demo_ids]
    if others:
        raise InputError(
            f"{home.path} already holds other accounts ({', '.join(sorted(others)[:3])}...); run the demo in its own home: undertow demo --home /tmp/undertow-demo"
        )


def run_demo(home: Home, out: Path, n_accounts: int = 40, seed: int = 7, classifier=None, on_progress=None,
             config: HealthConfig | None = None) -> DemoResult:
    from undertow.extractor.backends import make_classifier

    portfolio = build_portfolio(n_accounts, seed)
    check_home_is_free(home, portfolio)
    files = write_portfolio(portfolio, out)
    classifier = classifier or make_classifier("local", home.settings)
    summary = Ingestor(home, classifier, on_progress=on_progress).run([files.documents], ReadOptions(own_domains={portfolio.vendor["domain"]}))
    config = config or load_home_config(home.settings)
    # Last month's export first, so today's run has a snapshot to compare with.
    annotate_accounts(files.previous_accounts, home.records, config, PREVIOUS_DATE)
    annotation = annotate_accounts(files.accounts, home.records, config, DEMO_DATE)
    figures = backtest(annotation.accounts, read_outcomes(files.outcomes).churned)
    return DemoResult(portfolio, files, summary, annotation, figures)
