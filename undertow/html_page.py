"""Self-contained HTML pages: one file with its CSS and SVG charts inline, nothing fetched.

The reports built with these helpers are attached to e-mails and opened offline, so a page never
names a script, a stylesheet, a font or an image by URL, and its Content-Security-Policy forbids
them should a future change try. Every value that reaches the page goes through `esc` (or `num`
for numbers): customer text is untrusted and a note containing `<script>` must read as text.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
BAND_COLOUR = {"green": "#2e7d32", "yellow": "#f2b01e", "red": "#c62828", "unscored": "#9e9e9e"}
BAND_TINT = {"green": "#e6f4ea", "yellow": "#fff4d6", "red": "#fde7e7", "unscored": "#f0f0f0"}

STYLE = """
:root { color-scheme: light; }
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #1f2328; margin: 0 auto;
       max-width: 1100px; padding: 24px; line-height: 1.45; font-size: 14px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
h3 { font-size: 14px; margin: 18px 0 6px; }
.muted { color: #59636e; } .small { font-size: 12px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
table.compact { width: auto; min-width: 40%; }
.scroll { overflow-x: auto; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #e4e7eb; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 14px 0; }
.card { border: 1px solid #d0d7de; border-radius: 6px; padding: 10px 14px; min-width: 140px; }
.card .value { font-size: 22px; font-weight: 600; } .card .label { color: #59636e; font-size: 12px; }
.band { display: inline-block; padding: 0 7px; border-radius: 10px; font-size: 12px; font-weight: 600; white-space: nowrap; }
.band-green { background: #e6f4ea; color: #1e5e22; } .band-yellow { background: #fff4d6; color: #7a5200; }
.band-red { background: #fde7e7; color: #9c1c1c; } .band-unscored { background: #f0f0f0; color: #444; }
blockquote { margin: 4px 0; padding: 2px 8px; border-left: 3px solid #d0d7de; color: #333; white-space: pre-wrap; word-break: break-word; }
ul.reasons { margin: 0; padding-left: 16px; }
mark.pred { background: #ffe08a; } mark.gold { background: #b6e3c6; } mark.both { background: #9fd4ff; }
.key { display: inline-block; padding: 0 6px; margin-right: 6px; border-radius: 3px; }
svg { max-width: 100%; height: auto; } svg text { font-family: inherit; font-size: 11px; fill: #1f2328; }
footer { margin-top: 30px; color: #59636e; font-size: 12px; }
@media print { body { padding: 0; } h2 { break-after: avoid; } tr { break-inside: avoid; } }
"""


def esc(value: object) -> str:
    """Text for the page, quotes included, so it is safe inside elements and attribute values."""
    return html.escape("" if value is None else str(value), quote=True)


def num(value: float | int | None, digits: int = 0, empty: str = "-") -> str:
    if value is None:
        return empty
    return f"{value:,.{digits}f}"


def page(title: str, body: str) -> str:
    return (
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{esc(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def band_badge(band: str | None) -> str:
    name = band or "unscored"
    return f"<span class=\"band band-{esc(name)}\">{esc(name)}</span>"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Iterable[int] = (), caption: str = "", compact: bool = False) -> str:
    """`rows` hold HTML already escaped by the caller (cells mix badges, lists and text);
    `compact` tables are as wide as their content rather than the page."""
    right = set(numeric)
    num_class = ' class="num"'
    head = "".join(f"<th scope=\"col\"{num_class if i in right else ''}>{esc(h)}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f"<td{num_class if i in right else ''}>{cell}</td>" for i, cell in enumerate(row)) + "</tr>\n" for row in rows
    )
    cap = f"<caption class=\"muted small\">{esc(caption)}</caption>" if caption else ""
    kind = ' class="compact"' if compact else ""
    return f"<table{kind}>{cap}<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody></table>"


def svg_open(width: int, height: int, label: str) -> str:
    return (f"<svg viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" "
            f"role=\"img\" aria-label=\"{esc(label)}\"><title>{esc(label)}</title>")


def stacked_columns(bins: Sequence[tuple[str, dict[str, int]]], series: Sequence[str], label: str, y_label: str = "accounts") -> str:
    """Vertical columns, one per bin, each stacked by series (bands), with counts on top."""
    width, height, left, bottom, top = 640, 240, 40, 34, 14
    plot_w, plot_h = width - left - 10, height - bottom - top
    biggest = max([sum(values.values()) for _, values in bins] + [1])
    step = plot_w / max(len(bins), 1)
    parts = [svg_open(width, height, label)]
    for tick in _ticks(biggest):
        y = top + plot_h - plot_h * tick / biggest
        parts.append(f"<line x1=\"{left}\" x2=\"{width - 10}\" y1=\"{y:.1f}\" y2=\"{y:.1f}\" stroke=\"#e4e7eb\"/>"
                     f"<text x=\"{left - 6}\" y=\"{y + 4:.1f}\" text-anchor=\"end\">{tick}</text>")
    for index, (name, values) in enumerate(bins):
        x = left + index * step + step * 0.12
        bar_w = step * 0.76
        y = top + plot_h
        for serie in series:
            count = values.get(serie, 0)
            if not count:
                continue
            h = plot_h * count / biggest
            y -= h
            parts.append(f"<rect x=\"{x:.1f}\" y=\"{y:.1f}\" width=\"{bar_w:.1f}\" height=\"{h:.1f}\" fill=\"{BAND_COLOUR.get(serie, '#888')}\">"
                         f"<title>{esc(name)}: {count} {esc(serie)}</title></rect>")
        total = sum(values.values())
        if total:
            parts.append(f"<text x=\"{x + bar_w / 2:.1f}\" y=\"{y - 3:.1f}\" text-anchor=\"middle\">{total}</text>")
        parts.append(f"<text x=\"{x + bar_w / 2:.1f}\" y=\"{height - bottom + 14}\" text-anchor=\"middle\">{esc(name)}</text>")
    parts.append(f"<line x1=\"{left}\" x2=\"{width - 10}\" y1=\"{top + plot_h}\" y2=\"{top + plot_h}\" stroke=\"#59636e\"/>")
    parts.append(f"<text x=\"{left}\" y=\"{height - 4}\">{esc(y_label)} per bin</text>")
    parts.append("</svg>")
    return "".join(parts)


def stacked_bars(rows: Sequence[tuple[str, dict[str, float]]], series: Sequence[str], label: str, fmt=lambda v: f"{v:,.0f}",
                 shares: bool = False) -> str:
    """Horizontal bars, one per row, each split by series and scaled to the largest row, or with
    `shares` each to its own total (rows of different units side by side)."""
    width, row_h, left = 640, 30, 110
    height = row_h * len(rows) + 10
    biggest = max([sum(values.values()) for _, values in rows] + [1e-9])
    parts = [svg_open(width, height, label)]
    for index, (name, values) in enumerate(rows):
        y = 5 + index * row_h
        x = float(left)
        parts.append(f"<text x=\"{left - 8}\" y=\"{y + 17}\" text-anchor=\"end\">{esc(name)}</text>")
        for serie in series:
            value = values.get(serie, 0)
            if value <= 0:
                continue
            scale = (sum(values.values()) or 1e-9) if shares else biggest
            w = (width - left - 90) * value / scale
            parts.append(f"<rect x=\"{x:.1f}\" y=\"{y + 4}\" width=\"{w:.1f}\" height=\"{row_h - 10}\" fill=\"{BAND_COLOUR.get(serie, '#888')}\">"
                         f"<title>{esc(name)} {esc(serie)}: {esc(fmt(value))}</title></rect>")
            x += w
        parts.append(f"<text x=\"{x + 6:.1f}\" y=\"{y + 17}\">{esc(fmt(sum(values.values())))}</text>")
    parts.append("</svg>")
    return "".join(parts)


def reliability_chart(points: Sequence[dict], label: str) -> str:
    """Mean confidence (x) against how often the signal was really there (y), one dot per bin,
    its area by the number of judgements; the diagonal is perfect calibration."""
    size, pad = 300, 40
    plot = size - 2 * pad
    biggest = max([p["n"] for p in points] + [1])
    parts = [svg_open(size + 120, size, label)]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x, y = pad + plot * tick, pad + plot * (1 - tick)
        parts.append(f"<line x1=\"{x:.1f}\" x2=\"{x:.1f}\" y1=\"{pad}\" y2=\"{pad + plot}\" stroke=\"#eef0f2\"/>"
                     f"<line x1=\"{pad}\" x2=\"{pad + plot}\" y1=\"{y:.1f}\" y2=\"{y:.1f}\" stroke=\"#eef0f2\"/>"
                     f"<text x=\"{x:.1f}\" y=\"{pad + plot + 14}\" text-anchor=\"middle\">{tick:g}</text>"
                     f"<text x=\"{pad - 6}\" y=\"{y + 4:.1f}\" text-anchor=\"end\">{tick:g}</text>")
    parts.append(f"<rect x=\"{pad}\" y=\"{pad}\" width=\"{plot}\" height=\"{plot}\" fill=\"none\" stroke=\"#59636e\"/>")
    parts.append(f"<line x1=\"{pad}\" y1=\"{pad + plot}\" x2=\"{pad + plot}\" y2=\"{pad}\" stroke=\"#8c959f\" stroke-dasharray=\"4 3\"/>")
    previous = None
    for point in points:
        x = pad + plot * float(point["mean_confidence"])
        y = pad + plot * (1 - float(point["observed"]))
        if previous:
            parts.append(f"<line x1=\"{previous[0]:.1f}\" y1=\"{previous[1]:.1f}\" x2=\"{x:.1f}\" y2=\"{y:.1f}\" stroke=\"#1f6feb\"/>")
        previous = (x, y)
        radius = 3 + 7 * (point["n"] / biggest) ** 0.5
        parts.append(f"<circle cx=\"{x:.1f}\" cy=\"{y:.1f}\" r=\"{radius:.1f}\" fill=\"#1f6feb\" fill-opacity=\"0.6\">"
                     f"<title>confidence {esc(point['bin'])}: {point['n']} judgements, mean confidence {float(point['mean_confidence']):.2f}, "
                     f"really present {float(point['observed']):.2f}</title></circle>")
    parts.append(f"<text x=\"{pad + plot / 2}\" y=\"{size - 6}\" text-anchor=\"middle\">mean confidence</text>")
    parts.append(f"<text x=\"12\" y=\"{pad + plot / 2}\" text-anchor=\"middle\" transform=\"rotate(-90 12 {pad + plot / 2})\">share really present</text>")
    parts.append(f"<line x1=\"{size + 5}\" y1=\"{pad + 6}\" x2=\"{size + 25}\" y2=\"{pad + 6}\" stroke=\"#8c959f\" stroke-dasharray=\"4 3\"/>"
                 f"<text x=\"{size + 30}\" y=\"{pad + 10}\">perfect</text>"
                 f"<circle cx=\"{size + 15}\" cy=\"{pad + 26}\" r=\"5\" fill=\"#1f6feb\" fill-opacity=\"0.6\"/>"
                 f"<text x=\"{size + 30}\" y=\"{pad + 30}\">measured</text>")
    parts.append("</svg>")
    return "".join(parts)


def _ticks(biggest: float) -> list[int]:
    step = max(1, int(round(biggest / 4)))
    return list(range(0, int(biggest) + 1, step))


def highlight(text: str, marks: dict[str, list[str]]) -> str:
    """`text` escaped, with each quote of each kind (a CSS class) wrapped in <mark>; characters
    marked by two kinds get the class "both". Quotes not found verbatim are left out."""
    kinds: list[set[str]] = [set() for _ in text]
    for kind, quotes in marks.items():
        for quote in quotes:
            if not quote:
                continue
            start = text.find(quote)
            if start < 0:
                continue
            for i in range(start, start + len(quote)):
                kinds[i].add(kind)
    out, i = [], 0
    while i < len(text):
        j = i
        while j < len(text) and kinds[j] == kinds[i]:
            j += 1
        chunk = esc(text[i:j])
        found = kinds[i]
        if not found:
            out.append(chunk)
        else:
            name = "both" if len(found) > 1 else next(iter(found))
            out.append(f"<mark class=\"{esc(name)}\">{chunk}</mark>")
        i = j
    return "".join(out)
