"""What `undertow nightly` prints: the dry run's plan, and the summary a person reads in the morning."""

from __future__ import annotations

from undertow.cli.common import out_console

REVIEW_SHOWN = 10  # accounts listed in the morning summary; the annotated file has them all
FAILURES_SHOWN = 5  # rejected lines listed per source; the quarantine file has them all


def _say(text: str = "") -> None:
    # markup off: paths, account names and reasons are customer data and may hold [brackets].
    out_console.print(text, highlight=False, markup=False, soft_wrap=True)


def render_plan(plan) -> None:
    _say(f"Dry run of {plan.config_path}: nothing is read or written.")
    workers = f", {plan.workers} embedding processes" if plan.workers > 1 else ""
    _say(f"home {plan.home}, backend {plan.backend}{workers}")
    for source in plan.sources:
        _say(f"\n{source.name}: {len(source.files)} file{'s' if len(source.files) != 1 else ''}")
        for path in source.files:
            _say(f"  {path}")
        for path in source.missing:
            _say(f"  MISSING {path}: no such file or folder")
        for line in source.ignored:
            _say(f"  ignored {line}")
    _say(f"\naccounts: {plan.accounts_path} ({plan.account_rows} rows), scored as of {plan.as_of.isoformat()}")
    _say(f"annotated list: {plan.outputs['annotated']}")
    if plan.outputs["summary"]:
        _say(f"run summary: {plan.outputs['summary']}")


def render_report(report) -> None:
    summary = report.as_dict()
    totals = summary["documents"]
    accounts = summary["accounts"]
    _say(f"Undertow nightly, {report.started_at:%Y-%m-%d %H:%M}, {report.seconds:.1f}s (home {report.home})")
    _say()
    _say(
        f"Documents: read {totals['read']}, new {totals['new']}, updated {totals['updated']}, "
        f"skipped {totals['skipped'] + totals['duplicates']} ({totals['skipped']} unchanged, {totals['duplicates']} duplicates), "
        f"rejected {totals['rejected']}, warnings {totals['warnings']}; "
        f"{totals['flagged']} flagged with a churn signal"
    )
    for source in summary["sources"]:
        _say(
            f"  {source['name']}: read {source['read']}, new {source['new']}, updated {source['updated']}, "
            f"rejected {source['rejected']}, flagged {source['flagged']}"
        )
        for failure in source["failures"][:FAILURES_SHOWN]:
            _say(f"    rejected {failure}")
        if len(source["failures"]) > FAILURES_SHOWN:
            _say(f"    ... and {len(source['failures']) - FAILURES_SHOWN} more")
        if source["skipped_files"]:
            count = len(source["skipped_files"])
            _say(f"    {count} file{'s' if count != 1 else ''} not read (not an export), e.g. {source['skipped_files'][0]}")
    if summary["quarantine"]:
        _say(f"Rejected input is quarantined in {', '.join(summary['quarantine'])}")
    if report.classifier_note:
        _say(report.classifier_note)

    _say()
    _say(f"Accounts: {accounts['scored']} scored as of {accounts['as_of']}, {accounts['review']} to review")
    for account in summary["review"][:REVIEW_SHOWN]:
        score = "-" if account["health_score"] is None else f"{account['health_score']:.0f}"
        _say(f"  {account['account_name']} ({account['account_id']}), {account['band'] or 'no band'} {score}: {'; '.join(account['reasons'][:2])}")
    if len(summary["review"]) > REVIEW_SHOWN:
        _say(f"  ... and {len(summary['review']) - REVIEW_SHOWN} more in the annotated list")
    if accounts["problems"]:
        _say(f"Accounts export: {len(accounts['problems'])} warnings, {accounts['bad_rows']} bad rows or values, first: {accounts['problems'][0]}")
    _say(f"Annotated list: {summary['outputs']['annotated']}")
    if summary["outputs"]["summary"]:
        _say(f"Run summary: {summary['outputs']['summary']}")
    _say()
    _say("Everything was read." if report.exit_code == 0 else "Some input was rejected; the rest is stored and scored (exit code 1).")
