"""`eval --report FILE.html`: the evaluation as one self-contained page.

Headline figures, a per-signal and a per-language table, calibration (ECE per signal, the
reliability table and its chart) and the worst errors, each document's text shown with the
predicted and the gold evidence marked. Document text is untrusted and is escaped everywhere.
"""

from __future__ import annotations

from collections import Counter

from undertow.html_page import esc, highlight, page, reliability_chart, table

WORST = 50
HEADLINE = (
    ("macro_f1", "macro F1", "mean F1 over the signals"),
    ("micro_f1", "micro F1", "F1 over every document x signal"),
    ("quiet_false_alarm_rate", "quiet false alarms", "share of documents without a signal that got one (lower is better)"),
    ("evidence_hit_rate", "evidence hits", "share of true positives whose quote overlaps the gold evidence"),
)


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else esc(value)


def _bar(value: float | None, colour: str = "#1f6feb") -> str:
    """A small inline bar for a 0..1 figure, next to the number."""
    if value is None:
        return ""
    width = max(0.0, min(float(value), 1.0)) * 80
    return (f" <svg width=\"82\" height=\"10\" role=\"img\" aria-label=\"{value:.2f}\"><rect x=\"0\" y=\"1\" width=\"80\" height=\"8\" fill=\"#eef0f2\"/>"
            f"<rect x=\"0\" y=\"1\" width=\"{width:.1f}\" height=\"8\" fill=\"{colour}\"/></svg>")


def _headline(report: dict) -> str:
    cards = "".join(
        f"<div class=\"card\"><div class=\"value\" data-figure=\"{key}\">{_fmt(report.get(key))}</div>"
        f"<div class=\"label\">{esc(label)}</div><div class=\"muted small\">{esc(note)}</div></div>"
        for key, label, note in HEADLINE
    )
    return f"<div class=\"cards\">{cards}</div>"


def _per_signal(report: dict, mistakes: list[dict]) -> str:
    ece = (report.get("calibration") or {}).get("ece", {})
    kinds = Counter((m["signal"], m["kind"]) for m in mistakes)
    rows = [
        [f"<code>{esc(signal)}</code>", _fmt(m["precision"]), _fmt(m["recall"]), _fmt(m["f1"]) + _bar(m["f1"]), esc(m["support"]),
         str(kinds[(signal, "false_positive")]), str(kinds[(signal, "false_negative")]), _fmt(ece.get(signal))]
        for signal, m in report["per_signal"].items()
    ]
    return ("<h2 id=\"signals\">Per signal</h2>"
            + table(["signal", "precision", "recall", "F1", "support", "false positives", "false negatives", "ECE"], rows, numeric=range(1, 8)))


def _per_language(report: dict) -> str:
    languages = report.get("per_language") or {}
    if not languages:
        return ""
    rows = [[f"<code>{esc(lang)}</code>", _fmt(m["macro_f1"]) + _bar(m["macro_f1"]), esc(m["n_docs"])] for lang, m in languages.items()]
    return "<h2 id=\"languages\">Per language</h2>" + table(["language", "macro F1", "documents"], rows, numeric=(1, 2), compact=True)


def _calibration(report: dict) -> str:
    calibration = report.get("calibration")
    if not calibration:
        return ""
    ece_rows = [[f"<code>{esc(signal)}</code>", _fmt(value, 4) + _bar(value, "#c62828")] for signal, value in calibration["ece"].items()]
    reliability = calibration.get("reliability") or []
    rel_rows = [[esc(row["bin"]), esc(row["n"]), _fmt(row["mean_confidence"]), _fmt(row["observed"]),
                 _fmt(round(row["observed"] - row["mean_confidence"], 3))] for row in reliability]
    chart = reliability_chart(reliability, "reliability: mean confidence against the share really present") if reliability else ""
    return (
        "<h2 id=\"calibration\">Confidence: does it mean what it says?</h2>"
        "<p class=\"muted\">Expected calibration error (ECE): the document-weighted gap between a confidence bin's mean confidence and how "
        f"often the signal was really there; 0 is perfect. Worst signal: {_fmt(calibration.get('max_ece'), 4)}.</p>"
        + table(["signal", "expected calibration error"], ece_rows, numeric=(1,), compact=True)
        + "<h3>Reliability, all signals pooled</h3>" + chart
        + table(["confidence", "documents x signals", "mean confidence", "share really present", "gap"], rel_rows, numeric=range(1, 5), compact=True)
    )


def _quotes(quotes: list[str], text: str, kind: str) -> str:
    if not quotes:
        return "<ul class=\"reasons\"><li class=\"muted\">none</li></ul>"
    items = []
    for quote in quotes:
        missing = "" if quote in text else " <span class=\"muted small\">(not found verbatim in the text)</span>"
        items.append(f"<li><mark class=\"{kind}\">{esc(quote)}</mark>{missing}</li>")
    return "<ul class=\"reasons\">" + "".join(items) + "</ul>"


def _errors(mistakes: list[dict]) -> str:
    shown = mistakes[:WORST]
    head = (f"<h2 id=\"errors\">Worst errors (top {len(shown)} of {len(mistakes)})</h2>"
            "<p class=\"muted small\">Most confident mistakes first. In the text: <mark class=\"pred key\">predicted evidence</mark>"
            "<mark class=\"gold key\">gold evidence</mark><mark class=\"both key\">both</mark></p>")
    blocks = []
    for m in shown:
        kind = m["kind"].replace("_", " ")
        confidence = m.get("confidence")
        blocks.append(
            f"<section class=\"error\"><h3>{esc(kind)}: <code>{esc(m['signal'])}</code> in {esc(m['id'])} "
            f"<span class=\"muted\">({esc(m.get('language') or '?')}, confidence {_fmt(confidence)})</span></h3>"
            f"<blockquote>{highlight(m['text'], {'pred': list(m.get('predicted_evidence') or []), 'gold': list(m.get('gold_evidence') or [])})}</blockquote>"
            + f"<div class=\"small\"><strong>predicted evidence</strong>{_quotes(m.get('predicted_evidence') or [], m['text'], 'pred')}"
            f"<strong>gold evidence</strong>{_quotes(m.get('gold_evidence') or [], m['text'], 'gold')}</div></section>"
        )
    return head + ("".join(blocks) if blocks else "<p>No errors.</p>")


def html_report(report: dict, mistakes: list[dict], dataset: str) -> str:
    body = "".join([
        f"<h1>Undertow evaluation: {esc(dataset)}</h1>",
        f"<p class=\"muted\">backend <code>{esc(report.get('backend'))}</code>, {esc(report.get('n_docs'))} documents, {esc(report.get('seconds'))}s</p>",
        _headline(report),
        _per_signal(report, mistakes),
        _per_language(report),
        _calibration(report),
        _errors(mistakes),
        "<footer>Made by <code>undertow eval --report</code>; a static page with nothing to load.</footer>",
    ])
    return page(f"Undertow evaluation: {dataset}", body)
