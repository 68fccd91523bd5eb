"""`demo`: the whole job on a generated portfolio, in a home of its own."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from undertow.settings import Settings


@dataclass
class DemoRun:
    result: object  # undertow.demo.run.DemoResult
    folder: Path  # the generated files
    as_of: dt.date  # the day the demo scores as of


def demo(settings: Settings, folder: Path, accounts: int = 40, seed: int = 7,
         on_progress: Callable[[str, int, int], None] | None = None) -> DemoRun:
    """Generate the portfolio into `folder`, ingest it into the home, annotate and backtest it.
    Always into the home's own files: a team's UNDERTOW_DATABASE_URL or Chroma server (set for the
    nightly job) must never receive invented accounts."""
    from undertow.demo.portfolio import DEMO_DATE
    from undertow.demo.run import run_demo
    from undertow.store.home import Home

    settings = settings.model_copy(update={"database_url": None, "chroma_url": None})
    return DemoRun(run_demo(Home(settings), folder, accounts, seed, on_progress=on_progress), folder, DEMO_DATE)
