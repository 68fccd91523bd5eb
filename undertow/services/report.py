"""`report`: the portfolio as one static HTML page, from the same scores `annotate` writes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from undertow.errors import InputError
from undertow.services._shared import Notice, named_files, quiet
from undertow.settings import Settings

HTML_SUFFIXES = (".html", ".htm")


@dataclass
class ReportResult:
    summary: dict  # undertow.health.portfolio.portfolio_summary
    html: Path
    bad_input: int  # rows or values of the accounts export left out, as `annotate` counts them


def portfolio_report(
    settings: Settings,
    accounts_csv: Path,
    html: Path,
    *,
    as_of: dt.date | None = None,
    mapping: dict[str, str] | None = None,
    scorecard: Path | None = None,
    on_notice: Notice = quiet,
) -> ReportResult:
    """Score the accounts exactly as `annotate` does (without storing a snapshot: a report looks,
    it does not record), then write the page to `html` whole or not at all."""
    from undertow.atomic import atomic_write_text
    from undertow.health.html_report import portfolio_html
    from undertow.health.portfolio import portfolio_summary
    from undertow.services.health import annotate

    if html.suffix.lower() not in HTML_SUFFIXES:
        raise InputError(f"--html {html}: use a .html file name")
    scored = annotate(settings, accounts_csv, as_of=as_of, mapping=mapping, scorecard=scorecard, save=False, on_notice=on_notice)
    summary = portfolio_summary(scored.accounts, scored.as_of)
    with named_files():
        atomic_write_text(html, portfolio_html(summary, accounts_csv.name))
    return ReportResult(summary, html, scored.bad_input)
