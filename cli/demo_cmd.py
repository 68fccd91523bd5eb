"""`undertow demo`: the whole job on a generated portfolio, in one command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from undertow.cli.common import JsonOption, err_console, is_terminal, out_console, print_json, settings_for, user_errors
from undertow.cli.progress import FileProgress


# The demo's invented accounts never land in the store the nightly job uses, unless asked.
DEMO_HOME = Path("~/.undertow-demo")
DemoHomeOption = Annotated[
    Path | None,
    typer.Option("--home", envvar="UNDERTOW_DEMO_HOME", help="Folder for the demo's store (default ~/.undertow-demo).", show_default=False),
]


def demo(
    home: DemoHomeOption = None,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for the generated files (default: HOME/demo).")] = None,
    accounts: Annotated[int, typer.Option("--accounts", min=2, max=40, help="How many accounts to generate.")] = 40,
    seed: Annotated[int, typer.Option("--seed", help="Another seed gives another, equally realistic portfolio.")] = 7,
    as_json: JsonOption = False,
) -> None:
    """Generate a realistic demo portfolio, ingest it, and show which accounts need a human and why."""
    from undertow.demo.portfolio import DEMO_DATE
    from undertow.demo.run import run_demo
    from undertow.health.report import backtest_table, review_table
    from undertow.store.home import Home

    settings = settings_for((home or DEMO_HOME).expanduser())
    folder = out or settings.resolved_home / "demo"
    with user_errors():
        err_console.print(f"generating {accounts} accounts into {folder} and ingesting them into {settings.resolved_home} ...", highlight=False)
        with FileProgress("Ingesting", enabled=is_terminal()) as progress:
            result = run_demo(Home(settings), folder, accounts, seed, on_progress=progress.update)
    summary = result.ingest
    caught = result.hidden_risks_caught()
    if as_json:
        print_json({
            "folder": str(folder),
            "as_of": DEMO_DATE.isoformat(),
            "documents": len(result.portfolio.documents),
            "ingest": summary.as_dict(),
            "review": [{"account_id": a.account_id, "band": a.band, "health_score": a.health_score, "reasons": a.review_reasons} for a in result.annotation.accounts if a.review],
            "green_on_numbers_but_flagged": [
                {"account_id": a.account_id, "quant_score": a.quant.score, "health_score": a.health_score, "signals": a.qual.active,
                 "evidence": a.qual.top.evidence_line() if a.qual.top else ""}
                for a in caught
            ],
            "planted_hidden_risks": sorted(result.planted),
            "backtest": result.backtest,
        })
        return
    err_console.print(
        f"ingested {summary.read} documents (new {summary.new}, unchanged {summary.skipped}, failed {summary.failed}) in {summary.seconds:.1f}s",
        highlight=False,
    )
    to_review = [a for a in result.annotation.accounts if a.review]
    out_console.print(review_table(to_review, f"{len(to_review)} of {len(result.annotation.accounts)} accounts to review as of {DEMO_DATE.isoformat()}"))
    if caught:
        out_console.print(f"\n[bold]{len(caught)} accounts look green on numbers but carry signals in what people wrote:[/]")
        for account in caught:
            out_console.print(f"  {account.name}: quant {account.quant.score:.0f} -> health {account.health_score:.0f}  ", end="", highlight=False)
            out_console.print(account.qual.top.evidence_line(), markup=False, highlight=False)
    hits = len(result.planted & {a.account_id for a in result.annotation.accounts if a.review})
    out_console.print(
        f"The generator hid serious signals in {len(result.planted)} accounts that are green on numbers; {hits} of them are flagged for review"
        + (f"; {len(extra)} other green account(s) flagged on their words are false alarms to check." if (extra := [a for a in caught if a.account_id not in result.planted]) else "."),
        highlight=False,
    )
    out_console.print()
    out_console.print(backtest_table(result.backtest))
    out_console.print(
        f"\nfiles: {folder}  (try: undertow annotate {result.files.accounts} --as-of {DEMO_DATE.isoformat()} --home {settings.resolved_home})",
        highlight=False, markup=False, soft_wrap=True,
    )
