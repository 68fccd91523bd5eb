"""Need of attention: priority = risk x ARR x renewal factor orders every output; `arr_at_risk`
and `days_to_renewal` are right for a small hand-made portfolio; the workbook and the terminal
table are readable."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from undertow.cli.app import app
from undertow.health.attention import renewal_factor, risk_of
from undertow.store.records import RecordStore, StoredDocument

# csat alone scores the numbers: 4.5 -> 100, 3.75 -> 70, 3.5 -> 60, 3.0 -> 40, 2.0 -> 20 (fixed bands 70 / 45).
PORTFOLIO = """account_id,account_name,csat,arr,renewal_date
big,=HYPERLINK("http://x"),4.5,"500,000",2026-10-31
soon,Soon Yellow,3.5,100000,2026-10-11
far,Far Yellow,3.5,300000,2027-10-01
small,Small Red,2.0,10000,
noarr,No ARR Red,3.0,,2026-12-30
quiet,Quiet Green,3.75,,
"""
AS_OF = "2026-10-01"
ORDER = ["noarr", "small", "soon", "far", "quiet", "big"]  # review first (noarr, small), then by priority
DAYS = {"big": 30, "soon": 10, "far": 365, "small": None, "noarr": 90, "quiet": None}
AT_RISK = {"big": 0.0, "soon": 100000.0, "far": 300000.0, "small": 10000.0, "noarr": None, "quiet": None}
MEDIAN_ARR = 200000.0  # of 500k, 100k, 300k, 10k: what an account without ARR counts as


def expected_priority(health: float, arr: float | None, days: int | None) -> float:
    return (1 - health / 100) * (arr if arr is not None else MEDIAN_ARR) * (1 + 3 * (1 - min(max(days, 0), 365) / 365) if days is not None else 1)


def run(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.fixture()
def portfolio(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text(PORTFOLIO, encoding="utf-8")
    return path


def test_the_factor_grows_as_the_renewal_nears():
    assert renewal_factor(None) == 1.0 and renewal_factor(400) == 1.0 and renewal_factor(365) == 1.0
    assert renewal_factor(0) == renewal_factor(-20) == 4.0
    assert 1.0 < renewal_factor(300) < renewal_factor(90) < renewal_factor(10) < 4.0
    assert (risk_of(100.0), risk_of(0.0), risk_of(None), risk_of(60.0)) == (0.0, 1.0, 1.0, pytest.approx(0.4))


def test_csv_rows_are_in_priority_order_with_the_new_columns(portfolio, tmp_path):
    out = tmp_path / "annotated.csv"
    result = run("annotate", str(portfolio), "--as-of", AS_OF, "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out, dtype=str, keep_default_na=False).to_dict("records")
    assert [r["account_id"] for r in rows] == ORDER
    by_id = {r["account_id"]: r for r in rows}
    assert {a: int(r["days_to_renewal"]) if r["days_to_renewal"] else None for a, r in by_id.items()} == DAYS
    assert {a: float(r["arr_at_risk"]) if r["arr_at_risk"] else None for a, r in by_id.items()} == AT_RISK
    assert [by_id[a]["band"] for a in ORDER] == ["red", "red", "yellow", "yellow", "green", "green"]
    for account, row in by_id.items():
        arr = float(row["arr"].replace(",", "")) if row["arr"] else None
        assert float(row["priority"]) == pytest.approx(expected_priority(float(row["health_score"]), arr, DAYS[account]), abs=0.01)
    assert float(by_id["big"]["priority"]) == 0.0 and by_id["big"]["arr"] == "500,000"  # the input as written


@pytest.mark.parametrize("suffix", [".json", ".parquet"])
def test_every_format_has_the_same_order(portfolio, tmp_path, suffix):
    out = tmp_path / f"annotated{suffix}"
    assert run("annotate", str(portfolio), "--as-of", AS_OF, "--out", str(out)).exit_code == 0
    rows = json.loads(out.read_text()) if suffix == ".json" else pd.read_parquet(out).to_dict("records")
    assert [r["account_id"] for r in rows] == ORDER
    payload = json.loads(run("annotate", str(portfolio), "--as-of", AS_OF, "--json", "--no-snapshot").stdout)
    assert [r["account_id"] for r in payload["rows"]] == ORDER


def test_without_arr_or_renewal_dates_the_order_is_by_risk(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("account_id,csat\na,4.5\nb,3.5\nc,3.75\nd,3.0\n", encoding="utf-8")
    payload = json.loads(run("annotate", str(path), "--as-of", AS_OF, "--json", "--no-snapshot").stdout)
    assert [r["account_id"] for r in payload["rows"]] == ["d", "b", "c", "a"]  # d is red (review), then lowest health first
    assert {r["arr_at_risk"] for r in payload["rows"]} == {None} and {r["days_to_renewal"] for r in payload["rows"]} == {None}


def test_a_bad_renewal_date_is_named_and_ignored(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("account_id,csat,arr,renewal_date\na,4.5,100,next spring\n", encoding="utf-8")
    result = run("annotate", str(path), "--as-of", AS_OF, "--json", "--no-snapshot")
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["problems"] == [f"{path}:2: a: renewal_date 'next spring' is not a date (use YYYY-MM-DD); ignored"]
    assert payload["rows"][0]["days_to_renewal"] is None


def test_the_workbook_is_formatted_and_in_priority_order(portfolio, tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "annotated.xlsx"
    result = run("annotate", str(portfolio), "--as-of", AS_OF, "--out", str(out))
    assert result.exit_code == 0, result.output
    book = load_workbook(out)
    sheet = book["accounts"]
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    col = {name: header.index(name) for name in header}
    rows = list(sheet.iter_rows(min_row=2, values_only=False))
    assert [r[col["account_id"]].value for r in rows] == ORDER
    fills = {r[col["band"]].value: r[col["band"]].fill.fgColor.rgb[-6:] for r in rows}
    assert fills == {"red": "FFC7CE", "yellow": "FFEB9C", "green": "C6EFCE"}
    big = rows[-1]
    assert big[col["arr"]].value == 500000 and big[col["arr"]].data_type == "n"  # "500,000" read as the number it is
    assert big[col["renewal_date"]].is_date and big[col["renewal_date"]].value.date() == dt.date(2026, 10, 31)
    assert big[col["days_to_renewal"]].value == 30 and big[col["health_score"]].value == 100 and big[col["health_score"]].data_type == "n"
    assert big[col["review"]].value is False
    name = big[col["account_name"]]
    assert name.value.startswith("=HYPERLINK") and name.data_type == "s"  # text, never a formula
    evidence_letter = sheet.cell(row=1, column=col["top_evidence"] + 1).column_letter
    assert sheet.column_dimensions[evidence_letter].width >= 60
    assert sheet.auto_filter.ref.startswith("A1:")
    summary = {row[0]: row[1] for row in book["summary"].iter_rows(values_only=True) if row and row[0]}
    assert summary["ARR at risk"] == 410000 and summary["accounts"] == 6


def test_the_terminal_table_keeps_evidence_readable_at_80_columns(settings, tmp_path):
    from rich.console import Console

    from undertow.services.health import annotate

    text = "Die Finanzabteilung hat alle Softwareausgaben bis zur Budgetrunde im November eingefroren."
    quote = {"quote": text, "start": 0, "end": len(text)}
    row = {"id": "m1", "account_id": "acme", "account_name": "", "source": "email", "date": dt.datetime(2026, 9, 28), "author": "",
           "language": "de", "subject": "", "text": text, "content_hash": "m1", "origin": "t", "embed_model": "t", "run_id": None,
           "ingested_at": dt.datetime(2026, 1, 1)}
    flag = {"doc_id": "m1", "signal": "budget_pressure", "account_id": "acme", "confidence": 0.95, "evidence": json.dumps([quote]),
            "backend": "t", "model_version": "t", "created_at": dt.datetime(2026, 1, 1)}
    RecordStore(settings.sqlite_url).save_documents([StoredDocument(row, [(0, len(text))], np.zeros((1, 4), np.float32), [flag])])
    path = tmp_path / "a.csv"
    path.write_text("account_id,account_name,csat,arr,renewal_date\nacme,Acme Maschinenbau GmbH,2.0,1000,2026-11-01\n", encoding="utf-8")
    result = annotate(settings, path, as_of=dt.date(2026, 10, 1), save=False)
    from undertow.health.report import review_table

    for width in (80, 120, 200):
        console = Console(width=width, record=True, color_system=None)
        console.print(review_table(result.accounts, "t"))
        lines = console.export_text().splitlines()
        assert max(len(line) for line in lines) <= width
        flat = " ".join(lines)
        for word in ("Finanzabteilung", "Softwareausgaben", "Budgetrunde", "eingefroren"):
            assert word in flat, (width, word)  # never folded into pieces of a few letters

