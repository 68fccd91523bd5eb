"""What `undertow demo` shows: the accounts to review, the hidden risks it caught, the backtest."""

from __future__ import annotations

from pathlib import Path

from undertow.cli.common import err_console, out_console


def demo_json(run) -> dict:
    result, caught = run.result, run.result.hidden_risks_caught()
    return {
        "folder": str(run.folder),
        "as_of": run.as_of.isoformat(),
        "documents": len(result.portfolio.documents),
        "ingest": result.ingest.as_dict(),
        "review": [{"account_id": a.account_id, "band": a.band, "health_score": a.health_score, "reasons": a.review_reasons} for a in result.annotation.accounts if a.review],
        "green_on_numbers_but_flagged": [
            {"account_id": a.account_id, "quant_score": a.quant.score, "health_score": a.health_score, "signals": a.qual.active,
             "evidence": a.qual.top.evidence_line() if a.qual.top else ""}
            for a in caught
        ],
        "planted_hidden_risks": sorted(result.planted),
        "backtest": result.backtest,
    }


def print_demo(run, home: Path) -> None:
    from undertow.health.report import backtest_table, review_table

    result, caught, as_of = run.result, run.result.hidden_risks_caught(), run.as_of.isoformat()
    summary = result.ingest
    err_console.print(
        f"ingested {summary.read} documents (new {summary.new}, unchanged {summary.skipped}, failed {summary.failed}) in {summary.seconds:.1f}s",
        highlight=False,
    )
    to_review = [a for a in result.annotation.accounts if a.review]
    out_console.print(review_table(to_review, f"{len(to_review)} of {len(result.annotation.accounts)} accounts to review as of {as_of}"))
    if caught:
        out_console.print(f"\n[bold]{len(caught)} accounts look green on numbers but carry signals in what people wrote:[/]")
        for account in caught:
            out_console.print(f"  {account.name}: quant {account.quant.score:.0f} -> health {account.health_score:.0f}  ", end="", highlight=False)
            out_console.print(account.qual.top.evidence_line(), markup=False, highlight=False)
    hits = len(result.planted & {a.account_id for a in to_review})
    extra = [a for a in caught if a.account_id not in result.planted]
    out_console.print(
        f"The generator hid serious signals in {len(result.planted)} accounts that are green on numbers; {hits} of them are flagged for review"
        + (f"; {len(extra)} other green account(s) flagged on their words are false alarms to check." if extra else "."),
        highlight=False,
    )
    out_console.print()
    out_console.print(backtest_table(result.backtest))
    out_console.print(
        f"\nfiles: {run.folder}  (try: undertow annotate {result.files.accounts} --as-of {as_of} --home {home})",
        highlight=False, markup=False, soft_wrap=True,
    )
    out_console.print(f"\nOpen the workspace on this portfolio: {serve_command(run, home)}", highlight=False, markup=False, soft_wrap=True)


def serve_command(run, home: Path) -> str:
    """The one command that opens `undertow serve` on what the demo just built."""
    if run.folder != home / "demo":  # --out elsewhere: name the export and its day
        return f"undertow serve {run.result.files.accounts} --as-of {run.as_of.isoformat()} --home {home}"
    return "undertow serve --demo" + ("" if home == Path("~/.undertow-demo").expanduser() else f" --home {home}")
