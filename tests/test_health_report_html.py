"""`undertow report --html`: one self-contained page, customer text escaped, the same figures as
`annotate`."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from typer.testing import CliRunner

from helpers import seed_flagged_document as seed
from undertow.cli.app import app
from undertow.store.records import RecordStore

PLANTED = "<script>alert(1)</script> Our champion Dana leaves in November & we <b>will</b> look at other tools."
ACCOUNTS = """account_id,account_name,csm_owner,csat,arr,renewal_date
acme,Acme <i>Foods</i>,Dana <img src=x onerror=alert(2)>,4.5,250000,2026-11-15
beta,Beta Bank,Lee,3.5,100000,2027-06-01
gamma,Gamma Air,Lee,2.0,40000,2026-10-20
delta,Delta Co,Kim,4.5,,
"""
EXTERNAL = re.compile(r"""(?:src|href|xlink:href|action)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


@pytest.fixture()
def store(settings):
    records = RecordStore(settings.sqlite_url)
    seed(records, "acme", "m1", dt.datetime(2026, 9, 28, 10), "champion_departure", 0.95, PLANTED)
    seed(records, "beta", "m2", dt.datetime(2026, 9, 20, 10), "budget_pressure", 0.6, "Finance wants 10% off.")
    for account in ("gamma", "delta"):
        seed(records, account, f"q-{account}", dt.datetime(2026, 9, 1), "budget_pressure", 0.0, "Routine call.")
    return records


@pytest.fixture()
def accounts_csv(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text(ACCOUNTS, encoding="utf-8")
    return path


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def figure(page: str, name: str) -> float:
    return float(re.search(rf'data-figure="{name}" data-value="([^"]*)"', page).group(1))


def test_the_page_is_self_contained_and_escapes_customer_text(store, accounts_csv, tmp_path):
    out = tmp_path / "portfolio.html"
    result = run("report", str(accounts_csv), "--html", str(out), "--as-of", "2026-10-01")
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "Content-Security-Policy" in page
    assert "<script" not in page.lower()  # neither our own nor the planted one
    assert not EXTERNAL.search(page) and "http://" not in page and "https://" not in page
    assert "@import" not in page and "url(" not in page and "<link" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the note reads as the customer wrote it
    assert "Acme &lt;i&gt;Foods&lt;/i&gt;" in page and "<img" not in page and "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "we &lt;b&gt;will&lt;/b&gt;" in page and "&amp; we" in page
    assert "<svg" in page and "Health distribution" in page and "Review queue" in page and "Renewals in the next 90 days" in page


def test_the_figures_equal_annotates(store, accounts_csv, tmp_path):
    annotated = tmp_path / "annotated.json"
    assert run("annotate", str(accounts_csv), "--as-of", "2026-10-01", "--out", str(annotated), "--no-snapshot").exit_code == 0
    rows = json.loads(annotated.read_text())
    out = tmp_path / "portfolio.html"
    result = run("report", str(accounts_csv), "--html", str(out), "--as-of", "2026-10-01", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    page = out.read_text(encoding="utf-8")

    arr_at_risk = sum(r["arr_at_risk"] or 0 for r in rows)
    assert arr_at_risk == summary["arr_at_risk"] == figure(page, "arr_at_risk") == 390000  # acme (review), beta (yellow), gamma (red)
    bands = {band: sum(r["band"] == band for r in rows) for band in ("red", "yellow", "green")}
    assert {b: c["accounts"] for b, c in summary["bands"].items()} == bands
    for band, count in bands.items():
        assert f'data-band="{band}" data-accounts="{count}"' in page
    assert figure(page, "review") == summary["review"] == sum(r["review"] for r in rows)
    assert figure(page, "accounts") == len(rows)
    queue = [line["account_id"] for line in summary["review_queue"]]
    assert queue == [r["account_id"] for r in rows if r["review"]]  # the same order as annotate's rows
    renewals = [line["account_id"] for line in summary["renewals_90d"]]
    assert renewals == ["gamma", "acme"]  # 19 and 45 days; beta renews in 243, delta has no date
    assert figure(page, "renewals_90d") == 2


def test_band_moves_appear_once_there_is_an_earlier_snapshot(store, accounts_csv, tmp_path):
    out = tmp_path / "portfolio.html"
    assert run("report", str(accounts_csv), "--html", str(out), "--as-of", "2026-10-01").exit_code == 0
    assert "No earlier snapshot" in out.read_text()
    earlier = accounts_csv.read_text().replace("beta,Beta Bank,Lee,3.5", "beta,Beta Bank,Lee,4.5")
    before = tmp_path / "before.csv"
    before.write_text(earlier, encoding="utf-8")
    assert run("annotate", str(before), "--as-of", "2026-09-01", "--out", str(tmp_path / "x.csv")).exit_code == 0
    result = run("report", str(accounts_csv), "--html", str(out), "--as-of", "2026-10-01", "--json")
    moves = json.loads(result.stdout)["moves"]
    assert moves["since"] == ["2026-09-01", "2026-09-01"] and moves["compared"] == 4
    assert moves["matrix"]["green"]["yellow"] == 1 and moves["worse"] >= 1
    page = out.read_text()
    assert "Band moves since the previous snapshot (2026-09-01)" in page and figure(page, "worse") == moves["worse"]
    assert len(store.snapshots()) == 4  # the report stored none: only annotate records


@pytest.mark.parametrize("args, message", [(["--html", "x.pdf"], "use a .html file name")])
def test_usage_errors(accounts_csv, args, message):
    result = run("report", str(accounts_csv), *args)
    assert result.exit_code == 2 and message in result.output
