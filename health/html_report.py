"""`undertow report --html FILE`: the portfolio as one static page to attach to an e-mail.

Built from `portfolio_summary` over the accounts `annotate` scored, so every figure on the page is
the figure in annotate's output. The key figures carry `data-figure`/`data-value` attributes so a
script (or a test) can read them back without scraping the prose.
"""

from __future__ import annotations

from undertow.health.portfolio import BANDS
from undertow.html_page import band_badge, esc, num, page, stacked_bars, stacked_columns, table

ORDER_NOTE = (
    "Order: accounts to review first, then by priority = risk \u00d7 ARR \u00d7 renewal factor, where risk = 1 \u2212 health/100, "
    "ARR is the portfolio median when unknown, and the renewal factor runs from 4 (renewal today or past) to 1 (a year or more away, or unknown). "
    "ARR at risk: the ARR of accounts in the red or yellow band or in the review queue."
)


def _figure(name: str, value: float | int, text: str, label: str) -> str:
    return (f"<div class=\"card\"><div class=\"value\" data-figure=\"{esc(name)}\" data-value=\"{esc(value)}\">{esc(text)}</div>"
            f"<div class=\"label\">{esc(label)}</div></div>")


def _renews(line: dict) -> str:
    days = line.get("days_to_renewal")
    if days is None:
        return "-"
    return f"{esc(line['renewal_date'])}<br><span class=\"muted small\">{'past' if days < 0 else f'in {days} days'}</span>"


def _health(line: dict) -> str:
    delta = line.get("health_delta")
    if delta is None:
        return num(line["health_score"])
    moved = "\u00b10" if abs(delta) < 0.5 else f"{delta:+.0f}"
    change = f"<br><span class=\"muted small\">{moved}</span>"
    return num(line["health_score"]) + change


def _account(line: dict) -> str:
    owner = f"<br><span class=\"muted small\">CSM {esc(line['csm_owner'])}</span>" if line.get("csm_owner") else ""
    return f"<strong>{esc(line['account_name'])}</strong><br><span class=\"muted small\">{esc(line['account_id'])}</span>{owner}"


def _evidence(line: dict) -> str:
    quotes = []
    for item in line.get("evidence", []):
        where = ", ".join(x for x in (item.get("source"), item.get("date")) if x)
        quotes.append(f"<blockquote>{esc(item['quote'])}</blockquote>"
                      f"<span class=\"muted small\">{esc(item['signal'])}{'; ' + esc(where) if where else ''}</span>")
    return "".join(quotes) or "<span class=\"muted\">-</span>"


def _reasons(line: dict) -> str:
    return "<ul class=\"reasons\">" + "".join(f"<li>{esc(reason)}</li>" for reason in line["reasons"]) + "</ul>"


def _bands_section(summary: dict) -> str:
    total_arr = summary["arr_total"] or 0.0
    rows = []
    for band, cell in summary["bands"].items():
        share = f"{100 * cell['arr'] / total_arr:.0f}%" if total_arr else "-"
        rows.append([band_badge(band), f"<span data-band=\"{esc(band)}\" data-accounts=\"{cell['accounts']}\">{cell['accounts']}</span>",
                     num(cell["arr"]), share])
    chart = stacked_bars(
        [("accounts", {b: c["accounts"] for b, c in summary["bands"].items()}), ("ARR", {b: c["arr"] for b, c in summary["bands"].items()})],
        list(summary["bands"]), "accounts and ARR by band, as shares of the portfolio", shares=True,
    ) if summary["accounts"] else ""
    return "<h2 id=\"bands\">Accounts by band</h2>" + table(["band", "accounts", "ARR", "share of ARR"], rows, numeric=(1, 2, 3)) + chart


def _distribution_section(summary: dict) -> str:
    bins = [(f"{b['from']}\u2013{b['to']}", {band: b[band] for band in BANDS}) for b in summary["distribution"]]
    unscored = summary["bands"].get("unscored", {}).get("accounts", 0)
    note = f"<p class=\"muted small\">{unscored} account(s) without numbers are not in the chart.</p>" if unscored else ""
    return ("<h2 id=\"distribution\">Health distribution</h2>"
            + stacked_columns(bins, BANDS, "accounts by health score, coloured by band") + note)


def _moves_section(summary: dict) -> str:
    moves = summary["moves"]
    if not moves:
        return ("<h2 id=\"moves\">Band moves</h2><p class=\"muted\">No earlier snapshot: run <code>undertow annotate</code> on a later day "
                "to see how bands move.</p>")
    since = moves["since"][0] if moves["since"][0] == moves["since"][1] else f"{moves['since'][0]} to {moves['since'][1]}"
    names = [name for name in moves["matrix"] if any(moves["matrix"][name].values()) or any(row[name] for row in moves["matrix"].values())]
    rows = [[band_badge(before)] + [str(moves["matrix"][before][after]) if moves["matrix"][before][after] else "<span class=\"muted\">0</span>" for after in names]
            for before in names]
    before_counts = {name: sum(moves["matrix"][name].values()) for name in names}
    after_counts = {name: sum(moves["matrix"][before][name] for before in names) for name in names}
    chart = stacked_bars([("before", before_counts), ("now", after_counts)], names, "bands before and now, accounts with an earlier snapshot")
    return (
        f"<h2 id=\"moves\">Band moves since the previous snapshot ({esc(since)})</h2>"
        f"<p><strong data-figure=\"worse\" data-value=\"{moves['worse']}\">{moves['worse']}</strong> account(s) moved to a worse band, "
        f"<strong data-figure=\"better\" data-value=\"{moves['better']}\">{moves['better']}</strong> to a better one; "
        f"{moves['compared']} compared, {moves['new']} without an earlier snapshot.</p>"
        + chart + "<h3>From (rows) to (columns)</h3>" + table(["was \u2193 / now \u2192", *names], rows, numeric=range(1, len(names) + 1))
    )


def _queue_section(summary: dict) -> str:
    queue = summary["review_queue"]
    if not queue:
        return "<h2 id=\"review\">Review queue</h2><p>No account needs a review today.</p>"
    rows = [[str(i), _account(line), band_badge(line["band"]), _health(line), num(line["arr"]), _renews(line), _reasons(line), _evidence(line)]
            for i, line in enumerate(queue, 1)]
    return (f"<h2 id=\"review\">Review queue: {len(queue)} account(s), most urgent first</h2>"
            + "<div class=\"scroll\">" + table(["#", "account", "band", "health", "ARR", "renewal", "why review", "evidence"], rows, numeric=(0, 3, 4))
            + "</div>")


def _renewals_section(summary: dict) -> str:
    renewals = summary["renewals_90d"]
    title = f"<h2 id=\"renewals\">Renewals in the next {summary['renewal_window_days']} days</h2>"
    if not renewals:
        return title + "<p class=\"muted\">None (or no renewal_date column).</p>"
    rows = [[_account(line), esc(line["renewal_date"]), str(line["days_to_renewal"]), band_badge(line["band"]), num(line["health_score"]),
             num(line["arr"]), "yes" if line["review"] else ""] for line in renewals]
    return title + table(["account", "renewal date", "days", "band", "health", "ARR", "to review"], rows, numeric=(2, 4, 5))


def portfolio_html(summary: dict, source: str) -> str:
    renewals_arr = sum(line["arr"] or 0.0 for line in summary["renewals_90d"])
    share = f" ({100 * summary['arr_at_risk'] / summary['arr_total']:.0f}% of ARR)" if summary["arr_total"] else ""
    unknown = f"<p class=\"muted small\">{summary['arr_unknown']} account(s) have no ARR and add nothing to the ARR figures.</p>" if summary["arr_unknown"] else ""
    body = "".join([
        f"<h1>Portfolio health as of {esc(summary['as_of'])}</h1>",
        f"<p class=\"muted\">{summary['accounts']} accounts from {esc(source)}. Scores combine the account numbers with the churn signals found in "
        "what customers wrote.</p>",
        "<div class=\"cards\">",
        _figure("accounts", summary["accounts"], str(summary["accounts"]), "accounts"),
        _figure("review", summary["review"], str(summary["review"]), "to review"),
        _figure("arr_total", summary["arr_total"], num(summary["arr_total"]), "ARR"),
        _figure("arr_at_risk", summary["arr_at_risk"], num(summary["arr_at_risk"]), "ARR at risk" + share),
        _figure("renewals_90d", len(summary["renewals_90d"]), str(len(summary["renewals_90d"])),
                f"renewals in {summary['renewal_window_days']} days ({num(renewals_arr)} ARR)"),
        "</div>", unknown,
        _bands_section(summary),
        _distribution_section(summary),
        _moves_section(summary),
        _queue_section(summary),
        _renewals_section(summary),
        f"<footer><p>{esc(ORDER_NOTE)}</p><p>Made by <code>undertow report</code>; a static page with nothing to load.</p></footer>",
    ])
    return page(f"Undertow portfolio {summary['as_of']}", body)
