"""The review table people read: accounts in order of need, with the reason and the evidence."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from undertow.health.account import AccountHealth
from undertow.health.portfolio import attention_order

BAND_STYLE = {"green": "green", "yellow": "yellow", "red": "bold red"}
TREND_MARK = {"up": "\u2191", "down": "\u2193", "flat": "\u2192", "new": "new"}


def _num(value: float | None, fmt: str = "{:.0f}") -> str:
    return "-" if value is None else fmt.format(value)


def review_table(accounts: list[AccountHealth], title: str, limit: int | None = None) -> Table:
    table = Table(title=title, show_lines=False, expand=False)
    for column, justify in (("account", "left"), ("band", "left"), ("health", "right"), ("quant", "right"), ("qual", "right"),
                            ("trend", "left"), ("signals", "left"), ("why review", "left"), ("evidence", "left")):
        table.add_column(column, justify=justify, overflow="fold")
    for account in attention_order(accounts)[:limit]:
        top = account.qual.top if account.qual.active else None
        trend = TREND_MARK[account.trend] + ("" if account.delta is None else f" {int(round(account.delta)):+d}")
        # Text objects, not markup strings: customer words containing [brackets] stay words.
        table.add_row(
            Text(account.name),
            Text(account.band or "-", style=BAND_STYLE.get(account.band, "")),
            _num(account.health_score),
            _num(account.quant.score),
            _num(account.qual.risk, "{:.2f}"),
            trend,
            Text(", ".join(account.qual.active) or "-"),
            Text("\n".join(account.review_reasons) or "-"),
            Text(top.evidence_line() if top else "-", style="italic"),
        )
    return table


def backtest_table(figures: dict) -> Table:
    def show(value) -> str:
        return "-" if value is None else f"{value:.2f}"

    table = Table(title=f"backtest: {figures['n_accounts']} accounts, {figures['n_churned']} churned")
    table.add_column("how well it predicted churn")
    table.add_column("numbers only", justify="right")
    table.add_column("numbers + words", justify="right")
    for key, label in (("roc_auc", "ROC AUC (higher is better)"), ("precision_at_10pct", "churn rate in the worst 10%"),
                       ("precision_at_20pct", "churn rate in the worst 20%"), ("green_churn_share", "churners that were green (lower is better)")):
        table.add_row(label, show(figures["quantitative"][key]), show(figures["combined"][key]))
    return table
