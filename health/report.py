"""The review table people read: accounts in order of need, with the reason and the evidence."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from undertow.health.account import AccountHealth
from undertow.health.history import points_moved
from undertow.health.portfolio import attention_order

BAND_STYLE = {"green": "green", "yellow": "yellow", "red": "bold red"}
TREND_MARK = {"up": "\u2191", "down": "\u2193", "flat": "\u2192", "new": "new"}


def _num(value: float | None, fmt: str = "{:.0f}") -> str:
    return "-" if value is None else fmt.format(value)


# Columns by how much a reader loses without them; narrower terminals drop from the end of this
# list first, so the reasons and the evidence keep room to be read.
WIDE_FROM, MEDIUM_FROM = 150, 100


def _money(value: float | None) -> str:
    if value is None:
        return "-"
    for size, suffix in ((1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:.1f}{suffix}"
    return f"{value:.0f}"


def _renews(account: AccountHealth) -> str:
    days = account.attention.days_to_renewal if account.attention else None
    return "-" if days is None else ("past" if days < 0 else f"{days}d")


class ReviewTable:
    """The review table, laid out for the width it is printed at: every column from 150 columns,
    the lesser ones (quant, qual, ARR, signals) dropped below that, and below 100 columns three
    columns with the reasons and the evidence together, so neither is squeezed to a few letters."""

    def __init__(self, accounts: list[AccountHealth], title: str, limit: int | None = None) -> None:
        self.accounts = attention_order(accounts)[:limit]
        self.title = title

    def __rich_console__(self, console, options):
        yield self.table(options.max_width)

    def table(self, width: int) -> Table:
        if width >= WIDE_FROM:
            return self._table(("account", "band", "health", "quant", "qual", "trend", "ARR", "renews", "signals", "why review", "evidence"))
        if width >= MEDIUM_FROM:
            return self._table(("account", "band", "health", "trend", "renews", "why review", "evidence"))
        return self._narrow()

    def _cells(self, account: AccountHealth) -> dict:
        top = account.qual.top if account.qual.active else None
        # Text objects, not markup strings: customer words containing [brackets] stay words.
        return {
            "account": Text(account.name),
            "band": Text(account.band or "-", style=BAND_STYLE.get(account.band, "")),
            "health": _num(account.health_score),
            "quant": _num(account.quant.score),
            "qual": _num(account.qual.risk, "{:.2f}"),
            "trend": TREND_MARK[account.trend] + ("" if account.delta is None or not account.previous
                                                  else f" {points_moved(account.previous['health_score'], account.health_score):+d}"),
            "ARR": _money(account.attention.arr if account.attention else None),
            "renews": _renews(account),
            "signals": Text(", ".join(account.qual.active) or "-"),
            "why review": Text("\n".join(account.review_reasons) or "-"),
            "evidence": Text(top.evidence_line() if top else "-", style="italic"),
        }

    def _table(self, columns: tuple[str, ...]) -> Table:
        table = Table(title=self.title, show_lines=False, expand=False)
        for column in columns:
            flexible = column in ("why review", "evidence")
            table.add_column(
                column, justify="right" if column in ("health", "quant", "qual", "ARR", "renews") else "left", overflow="fold",
                ratio=2 if column == "evidence" else 1 if flexible else None, min_width=16 if flexible else None,
                max_width=24 if column == "account" else None, no_wrap=column in ("band", "health", "trend", "renews"),
            )
        for account in self.accounts:
            cells = self._cells(account)
            table.add_row(*(cells[c] for c in columns))
        return table

    def _narrow(self) -> Table:
        table = Table(title=self.title, show_lines=True, expand=True)
        table.add_column("account", overflow="fold", max_width=20, ratio=None)
        table.add_column("health", justify="right", no_wrap=True)
        table.add_column("why review / evidence", overflow="fold", ratio=1, min_width=24)
        for account in self.accounts:
            cells = self._cells(account)
            name = Text.assemble(cells["account"], "\n", cells["band"])
            health = Text(f"{cells['health']}\n{cells['trend']}")
            if account.attention and account.attention.days_to_renewal is not None:
                health.append(f"\nrenews {cells['renews']}")
            why = Text("\n").join(Text(f"- {reason}") for reason in account.review_reasons) if account.review_reasons else Text("-")
            if account.qual.active:
                why.append("\n")
                why.append_text(cells["evidence"])
            table.add_row(name, health, why)
        return table


def review_table(accounts: list[AccountHealth], title: str, limit: int | None = None) -> ReviewTable:
    """Accounts in order of need of attention with the reasons and the evidence; print it with rich."""
    return ReviewTable(accounts, title, limit)


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
