"""`annotate` and `backtest`: score an accounts export against the store, and check the scores
against what happened."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from undertow.services._shared import Notice, named_files, quiet
from undertow.settings import Settings


def today() -> dt.date:
    """The day `--as-of` means when it is not given; the nightly job uses the same one."""
    return dt.datetime.now(dt.timezone.utc).date()


@dataclass
class AnnotateResult:
    annotation: object  # undertow.health.annotate.Annotation
    out: Path | None

    @property
    def as_of(self) -> dt.date:
        return self.annotation.as_of

    @property
    def problems(self) -> list[str]:
        return [str(p) for p in self.annotation.problems]

    @property
    def accounts(self) -> list:
        return self.annotation.accounts

    @property
    def review(self) -> int:
        return sum(a.review for a in self.accounts)

    @property
    def bad_input(self) -> int:
        """Rows or values left out because they were bad: the command exits 1 when there are any."""
        return self.annotation.bad_input

    def as_dict(self) -> dict:
        """What `annotate --json` prints; the rows and their details only when no --out took them."""
        from undertow.health.annotate import output_records

        return {
            "as_of": self.as_of.isoformat(),
            "accounts": len(self.accounts),
            "review": self.review,
            "problems": self.problems,
            "out": str(self.out) if self.out else None,
            "rows": output_records(self.annotation) if self.out is None else None,
            "details": [a.details() for a in self.accounts] if self.out is None else None,
        }


@dataclass
class BacktestResult:
    figures: dict  # see undertow.health.backtest.backtest


def annotate(
    settings: Settings,
    accounts_csv: Path,
    *,
    as_of: dt.date | None = None,
    mapping: dict[str, str] | None = None,
    scorecard: Path | None = None,
    out: Path | None = None,
    save: bool = True,
    stdout: TextIO | None = None,
    on_notice: Notice = quiet,
) -> AnnotateResult:
    """Score the accounts, keep a snapshot unless `save` is off, and write the rows to `out`
    ('-' is CSV on `stdout`). Warnings about rows go to `on_notice` before the rows are written."""
    from undertow.health.annotate import annotate_accounts, check_output_path, write_output
    from undertow.store.home import Home

    if out is not None:
        check_output_path(out)
    home = Home(settings)
    config = home.scorecard(scorecard)
    with named_files():
        annotation = annotate_accounts(accounts_csv, home.records, config, as_of or today(), mapping or {}, save=save)
    _notify(annotation.problems, home, on_notice)
    if out is not None:
        with named_files():
            write_output(annotation, out, stdout=stdout)
    return AnnotateResult(annotation, out)


def backtest(
    settings: Settings,
    accounts_csv: Path,
    outcomes_csv: Path,
    *,
    as_of: dt.date | None = None,
    mapping: dict[str, str] | None = None,
    scorecard: Path | None = None,
    on_notice: Notice = quiet,
) -> BacktestResult:
    """How well the quantitative and the combined score predicted the outcomes; nothing is stored."""
    from undertow.health.accounts import read_outcomes
    from undertow.health.annotate import annotate_accounts
    from undertow.health.backtest import backtest as run_backtest
    from undertow.store.home import Home

    home = Home(settings)
    config = home.scorecard(scorecard)
    with named_files():
        annotation = annotate_accounts(accounts_csv, home.records, config, as_of or today(), mapping or {}, save=False)
        outcomes = read_outcomes(outcomes_csv)
    _notify([*annotation.problems, *outcomes.problems], home, on_notice)
    missing = sorted(set(outcomes.churned) - {a.account_id for a in annotation.accounts})
    if missing:
        on_notice(f"warning: {len(missing)} accounts in {outcomes_csv} are not in {accounts_csv}: {', '.join(missing[:5])}")
    # Left out of the figures too; unsaid, dropping the unscorable churners flatters them.
    unscored = sorted(a.account_id for a in annotation.accounts if a.account_id in outcomes.churned and a.health_score is None)
    if unscored:
        on_notice(f"warning: {len(unscored)} accounts with an outcome have no numbers to score and are left out: {', '.join(unscored[:5])}")
    return BacktestResult(run_backtest(annotation.accounts, outcomes.churned))


def _notify(problems: list, home, on_notice: Notice) -> None:
    for problem in problems:
        on_notice(f"warning: {problem}")
    if not home.records.accounts():
        on_notice(f"note: {home.path} holds no documents, so scores use numbers alone; run `undertow ingest PATH` first")
