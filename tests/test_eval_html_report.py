"""`eval --report FILE.html` is a real page: tables, calibration with its chart, the errors with
their evidence marked, and document text escaped; `.md` stays Markdown."""

from __future__ import annotations

import re

from undertow.eval.report import write_report

REPORT = {
    "backend": "local", "n_docs": 3, "seconds": 0.5, "macro_f1": 0.5, "micro_f1": 0.6, "quiet_false_alarm_rate": 0.1, "evidence_hit_rate": 0.75,
    "per_signal": {"churn_intent": {"precision": 0.5, "recall": 1.0, "f1": 0.667, "support": 1},
                   "budget_pressure": {"precision": 0.0, "recall": 0.0, "f1": None, "support": 0}},
    "per_language": {"en": {"macro_f1": 0.667, "n_docs": 2}, "de": {"macro_f1": 0.0, "n_docs": 1}},
    "calibration": {"ece": {"churn_intent": 0.125, "budget_pressure": None}, "max_ece": 0.125,
                    "reliability": [{"bin": "0.1-0.2", "n": 4, "mean_confidence": 0.15, "observed": 0.0},
                                    {"bin": "0.9-1.0", "n": 2, "mean_confidence": 0.95, "observed": 1.0}]},
}
TEXT = "Hi <script>alert(1)</script> team & co. We will cancel at renewal. Budget is fine."
MISTAKES = [
    {"kind": "false_positive", "signal": "churn_intent", "id": "d-<1>", "language": "en", "confidence": 0.91, "text": TEXT,
     "predicted_evidence": ["We will cancel at renewal."], "gold_evidence": []},
    {"kind": "false_negative", "signal": "budget_pressure", "id": "d-2", "language": "en", "confidence": 0.2, "text": TEXT,
     "predicted_evidence": [], "gold_evidence": ["Budget is fine.", "not in the text"]},
]


def test_html_report_has_the_tables_and_escapes_text(tmp_path):
    path = tmp_path / "report.html"
    write_report(path, REPORT, MISTAKES, "gold <set>.jsonl")
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "<pre>" not in page
    assert "<script" not in page.lower() and "http://" not in page and "https://" not in page
    assert "Hi &lt;script&gt;alert(1)&lt;/script&gt; team &amp; co." in page
    assert "gold &lt;set&gt;.jsonl" in page and "d-&lt;1&gt;" in page
    for heading in ("Per signal", "Per language", "Confidence: does it mean what it says?", "Worst errors (top 2 of 2)"):
        assert heading in page
    assert re.search(r"<td><code>churn_intent</code></td><td class=\"num\">0\.500</td><td class=\"num\">1\.000</td>", page)
    assert "<td><code>de</code></td>" in page
    assert "0.1250" in page and "0.1-0.2" in page  # ECE and the reliability table
    assert page.count("<circle") >= 2 and "reliability" in page  # the reliability chart, one dot per bin
    assert '<mark class="pred">We will cancel at renewal.</mark>' in page
    assert '<mark class="gold">Budget is fine.</mark>' in page
    assert "(not found verbatim in the text)" in page


def test_markdown_stays_for_md(tmp_path):
    path = tmp_path / "report.md"
    write_report(path, REPORT, MISTAKES, "gold.jsonl")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Undertow evaluation: gold.jsonl") and "| churn_intent |" in text and "<html" not in text


def test_markdown_error_headings_leave_out_a_language_the_set_does_not_give(tmp_path):
    path = tmp_path / "report.md"
    write_report(path, REPORT, [{**MISTAKES[1], "language": ""}, MISTAKES[0]], "gold.jsonl")
    headings = [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("### ")]
    assert headings == ["### false negative: `budget_pressure` in d-2 (confidence 0.200)",
                        "### false positive: `churn_intent` in d-<1> (en, confidence 0.910)"]
