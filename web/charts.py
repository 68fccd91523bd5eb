"""Charts as inline SVG made on the server: nothing to load, readable by a screen reader through
each chart's label, and every value escaped (account and signal names are customer data).
The portfolio's charts are the ones `report --html` draws (undertow/html_page.py)."""

from __future__ import annotations

import datetime as dt

from markupsafe import Markup

from undertow.health.portfolio import BANDS
from undertow.html_page import BAND_COLOUR, esc, stacked_bars, stacked_columns, svg_open


def distribution(summary: dict) -> Markup:
    bins = [(f"{b['from']}\u2013{b['to']}", {band: b[band] for band in BANDS}) for b in summary["distribution"]]
    return Markup(stacked_columns(bins, BANDS, "accounts by health score, coloured by band"))


def bands(summary: dict) -> Markup:
    cells = summary["bands"]
    rows = [("accounts", {b: c["accounts"] for b, c in cells.items()}), ("ARR", {b: c["arr"] for b, c in cells.items()})]
    return Markup(stacked_bars(rows, list(cells), "accounts and ARR by band, as shares of the portfolio", shares=True))


def moves(summary: dict) -> Markup:
    matrix = summary["moves"]["matrix"]
    before = {name: sum(matrix[name].values()) for name in matrix}
    now = {name: sum(row[name] for row in matrix.values()) for name in matrix}
    return Markup(stacked_bars([("before", before), ("now", now)], list(matrix), "bands before and now, accounts with an earlier snapshot"))


def _x_scale(days: list[dt.date], left: float, width: float):
    first, last = min(days), max(days)
    span = max((last - first).days, 1)
    return lambda day: left + width * ((day - first).days / span if last != first else 0.5)


MAX_DATE_LABELS = 6  # more dates than this and only the first and last are written under the axis


def health_trend(points: list[dict]) -> Markup:
    """Health per snapshot, oldest to newest, each dot in its band's colour; a hollow dot is the
    score shown now but not stored."""
    label = "health score over time: " + ", ".join(f"{p['day'].isoformat()} {p['health']:.0f}" for p in points)
    width, height, left, right, top, bottom = 640, 200, 36, 16, 12, 28
    days = [p["day"] for p in points]
    x = _x_scale(days, left, width - left - right)

    def y(value: float) -> float:
        return top + (height - top - bottom) * (1 - value / 100)

    parts = [svg_open(width, height, label)]
    for tick in (0, 25, 50, 75, 100):
        parts.append(f"<line x1=\"{left}\" x2=\"{width - right}\" y1=\"{y(tick):.1f}\" y2=\"{y(tick):.1f}\" stroke=\"#e4e7eb\"/>"
                     f"<text x=\"{left - 6}\" y=\"{y(tick) + 4:.1f}\" text-anchor=\"end\">{tick}</text>")
    line = " ".join(f"{x(p['day']):.1f},{y(p['health']):.1f}" for p in points)
    parts.append(f"<polyline points=\"{line}\" fill=\"none\" stroke=\"#57606a\" stroke-width=\"1.5\"/>")
    for p in points:
        colour = BAND_COLOUR.get(p["band"], "#888")
        fill = colour if p["stored"] else "#fff"
        parts.append(f"<circle cx=\"{x(p['day']):.1f}\" cy=\"{y(p['health']):.1f}\" r=\"5\" fill=\"{fill}\" stroke=\"{colour}\" stroke-width=\"2\">"
                     f"<title>{esc(p['day'].isoformat())}: {p['health']:.0f} ({esc(p['band'])}){'' if p['stored'] else ', not stored'}</title></circle>")
    parts += _date_labels(days, x, height - 8)
    parts.append("</svg>")
    return Markup("".join(parts))


def _date_labels(days: list[dt.date], x, y: float) -> list[str]:
    """Dates under the axis; the first and last anchored inwards so they stay inside the chart."""
    unique = sorted(set(days))
    shown = unique if len(unique) <= MAX_DATE_LABELS else [unique[0], unique[-1]]
    labels = []
    for day in shown:
        anchor = "middle" if len(unique) == 1 else "start" if day == unique[0] else "end" if day == unique[-1] else "middle"
        labels.append(f"<text x=\"{x(day):.1f}\" y=\"{y}\" text-anchor=\"{anchor}\">{esc(day.isoformat())}</text>")
    return labels


def signal_timeline(flags: list[dict]) -> Markup:
    """One row per signal, a dot per flagged document at its date, larger for higher confidence;
    filled when the signal is active on the workspace's day."""
    dated = [f for f in flags if f["date"]]
    if not dated:
        return Markup("")
    signals = sorted({f["signal"] for f in dated})
    width, row, left, right = 640, 26, 170, 16
    height = row * len(signals) + 30
    x = _x_scale([f["date"] for f in dated], left, width - left - right)
    label = "signals over time: " + "; ".join(
        f"{s.replace('_', ' ')} on " + ", ".join(sorted({f['date'].isoformat() for f in dated if f['signal'] == s})) for s in signals
    )
    parts = [svg_open(width, height, label)]
    for index, signal in enumerate(signals):
        cy = 14 + index * row
        parts.append(f"<text x=\"{left - 8}\" y=\"{cy + 4}\" text-anchor=\"end\">{esc(signal.replace('_', ' '))}</text>"
                     f"<line x1=\"{left}\" x2=\"{width - right}\" y1=\"{cy}\" y2=\"{cy}\" stroke=\"#eef0f2\"/>")
        for flag in (f for f in dated if f["signal"] == signal):
            fill = "#c62828" if flag["active"] else "#fff"
            parts.append(f"<circle cx=\"{x(flag['date']):.1f}\" cy=\"{cy}\" r=\"{3 + 4 * flag['confidence']:.1f}\" fill=\"{fill}\" "
                         f"stroke=\"#c62828\" stroke-width=\"1.5\"><title>{esc(signal)} {esc(flag['date'].isoformat())}, "
                         f"{esc(flag['source'])}, confidence {flag['confidence']:.2f}</title></circle>")
    parts += _date_labels([f["date"] for f in dated], x, height - 6)
    parts.append("</svg>")
    return Markup("".join(parts))
