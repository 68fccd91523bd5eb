"""Evaluation reports for people: Markdown or HTML, with the worst mistakes to read."""

from __future__ import annotations

from pathlib import Path

WORST = 25


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def markdown(report: dict, mistakes: list[dict], dataset: str) -> str:
    lines = [
        f"# Undertow evaluation: {dataset}",
        "",
        f"backend `{report['backend']}`, {report['n_docs']} documents, {report['seconds']}s",
        "",
        "| metric | value |", "|---|---|",
        *(f"| {k} | {_fmt(report[k])} |" for k in ("macro_f1", "micro_f1", "quiet_false_alarm_rate", "evidence_hit_rate")),
        "",
        "| signal | precision | recall | F1 | support |", "|---|---|---|---|---|",
        *(f"| {s} | {_fmt(m['precision'])} | {_fmt(m['recall'])} | {_fmt(m['f1'])} | {m['support']} |" for s, m in report["per_signal"].items()),
    ]
    if report["per_language"]:
        lines += ["", "| language | macro F1 | documents |", "|---|---|---|"]
        lines += [f"| {lang} | {_fmt(m['macro_f1'])} | {m['n_docs']} |" for lang, m in report["per_language"].items()]
    if report.get("calibration"):
        lines += _calibration_lines(report["calibration"])
    lines += ["", f"## Worst errors (top {min(WORST, len(mistakes))} of {len(mistakes)})", ""]
    for m in mistakes[:WORST]:
        lines += [
            f"### {m['kind'].replace('_', ' ')}: `{m['signal']}` in {m['id']} ({m['language'] + ', ' if m['language'] else ''}confidence {_fmt(m['confidence'])})",
            "",
            "> " + m["text"].replace("\n", "\n> "),
            "",
            f"- predicted evidence: {m['predicted_evidence'] or '-'}",
            f"- gold evidence: {m['gold_evidence'] or '-'}",
            "",
        ]
    return "\n".join(lines) + "\n"


def _calibration_lines(calibration: dict) -> list[str]:
    lines = ["", "## Confidence: does it mean what it says?", "", "| signal | expected calibration error |", "|---|---|"]
    lines += [f"| {signal} | {_fmt(value)} |" for signal, value in calibration["ece"].items()]
    lines += ["", "| confidence | documents x signals | mean confidence | share really present |", "|---|---|---|---|"]
    lines += [f"| {row['bin']} | {row['n']} | {_fmt(row['mean_confidence'])} | {_fmt(row['observed'])} |" for row in calibration["reliability"]]
    return lines


def write_report(path: Path, report: dict, mistakes: list[dict], dataset: str) -> None:
    """HTML for .html/.htm (tables, a reliability chart, the errors with their evidence marked),
    Markdown for anything else."""
    if path.suffix.lower() in (".html", ".htm"):
        from undertow.eval.html_report import html_report

        text = html_report(report, mistakes, dataset)
    else:
        text = markdown(report, mistakes, dataset)
    path.write_text(text, encoding="utf-8")


def comparison_table(reports: dict[str, dict]) -> str:
    names = list(reports)
    rows = [("macro_f1",), ("micro_f1",), ("quiet_false_alarm_rate",), ("evidence_hit_rate",), ("seconds",)]
    lines = ["| metric | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for (key,) in rows:
        lines.append(f"| {key} | " + " | ".join(_fmt(reports[n].get(key)) for n in names) + " |")
    signals = next(iter(reports.values()))["per_signal"]
    for signal in signals:
        lines.append(f"| F1 {signal} | " + " | ".join(_fmt(reports[n]["per_signal"].get(signal, {}).get("f1")) for n in names) + " |")
    return "\n".join(lines)
