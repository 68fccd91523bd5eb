"""The demo portfolio: deterministic, realistic, readable by every ingester, and the job end to end."""

from __future__ import annotations

import collections
import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from undertow.cli.app import app
from undertow.demo.files import write_portfolio
from undertow.demo.portfolio import DEMO_DATE, build_portfolio
from undertow.health.bands import band_of, cuts_for
from undertow.health.config import load_config
from undertow.health.scorecard import quant_score


def fingerprint(portfolio) -> list:
    return [(a.account_id, a.archetype, a.churned, sorted(a.numbers.items())) for a in portfolio.accounts] + [
        (d.id, d.source, d.fmt, d.date.isoformat(), d.text) for d in portfolio.documents
    ]


def test_same_seed_same_portfolio_other_seed_other_one():
    assert fingerprint(build_portfolio(40, seed=7)) == fingerprint(build_portfolio(40, seed=7))
    assert fingerprint(build_portfolio(40, seed=8)) != fingerprint(build_portfolio(40, seed=7))


def test_portfolio_is_shaped_like_a_real_one():
    portfolio = build_portfolio(40)
    accounts, documents = portfolio.accounts, portfolio.documents
    assert len(accounts) == 40 and 200 <= len(documents) <= 400
    assert {a.language for a in accounts} == {"en", "it", "de", "pt", "nl", "fr", "es"}
    assert {d.source for d in documents} == {"call_note", "email", "ticket", "chat", "meeting_transcript"}
    kinds = collections.Counter(a.archetype for a in accounts)
    assert kinds["healthy"] > len(accounts) / 2 and kinds["hidden_risk"] >= 5 and kinds["red_numbers"] >= 4
    assert all(d.date.date() < DEMO_DATE for d in documents)

    config = load_config()
    quant = {a.account_id: quant_score(a.numbers, a.segment, config).score for a in accounts}
    cuts = cuts_for(list(quant.values()), config.bands)
    for account in accounts:
        band = band_of(quant[account.account_id], cuts)
        if account.archetype == "hidden_risk":
            assert band == "green", account.account_id  # the whole point: numbers alone see nothing
        if account.archetype == "red_numbers":
            assert band == "red", account.account_id
    serious = {"champion_departure", "competitor_mention", "strategy_shift"}
    for account in accounts:
        planted = {d.signal for d in documents if d.account is account and d.signal}
        assert bool(planted & serious) == (account.archetype == "hidden_risk")

    def churn_rate(kind: str) -> float:
        members = [a for a in accounts if a.archetype == kind]
        return sum(a.churned for a in members) / len(members)

    assert churn_rate("hidden_risk") > churn_rate("slipping") > churn_rate("healthy")


def test_every_file_reads_back_into_the_documents_that_were_generated(tmp_path):
    from undertow.ingest.items import ReadDocument, ReadFailure
    from undertow.ingest.sources import ReadOptions, read_all

    portfolio = build_portfolio(12, seed=3)
    files = write_portfolio(portfolio, tmp_path / "demo")
    suffixes = {p.suffix for p in files.documents.rglob("*") if p.is_file()}
    assert suffixes == {".jsonl", ".csv", ".eml", ".mbox", ".md"}
    assert (files.documents / "helpdesk_tickets.csv").read_text(encoding="utf-8").startswith("Ticket ID,Organization,Created at,Subject,Description")

    items = list(read_all([files.documents], ReadOptions(own_domains={portfolio.vendor["domain"]})))
    assert [str(i) for i in items if isinstance(i, ReadFailure)] == []
    read = {i.document.id: i.document for i in items if isinstance(i, ReadDocument)}
    assert sorted(read) == sorted(d.id for d in portfolio.documents)
    for doc in portfolio.documents:
        got = read[doc.id]
        assert (got.account_id, got.source) == (doc.account.account_id, doc.source), doc.id
        assert got.date == doc.date, doc.id
    # Quoted history under e-mail replies is trimmed on the way in, so the planted text is what counts.
    replies = [d for d in portfolio.documents if d.source == "email" and "\n> " in d.text]
    assert replies and all(">" not in read[d.id].text for d in replies)

    header = files.accounts.read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("account_id,account_name,segment,arr,renewal_date,csm_owner,seats_licensed")
    assert files.outcomes.read_text(encoding="utf-8").splitlines()[0] == "account_id,churned,outcome_date"


def test_out_folder_of_someone_elses_files_is_refused(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "precious.txt").write_text("keep me", encoding="utf-8")
    result = CliRunner().invoke(app, ["demo", "--out", str(folder), "--accounts", "3"])
    assert result.exit_code == 2 and "not made by `undertow demo`" in " ".join(result.output.split())
    assert (folder / "precious.txt").read_text(encoding="utf-8") == "keep me"


def test_demo_refuses_a_home_holding_real_accounts(settings, tmp_path):
    import numpy as np

    from undertow.store.records import RecordStore, StoredDocument

    row = {"id": "real-1", "account_id": "real-customer", "account_name": "", "source": "note", "date": None, "author": "", "language": "",
           "subject": "", "text": "hello", "content_hash": "h", "origin": "", "embed_model": "m", "run_id": None, "ingested_at": dt.datetime(2026, 1, 1)}
    RecordStore(settings.sqlite_url).save_documents([StoredDocument(row, [(0, 5)], np.zeros((1, 4), np.float32), [])])
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "demo"), "--accounts", "3"])
    assert result.exit_code == 2
    assert "undertow demo --home" in " ".join(result.output.split())


def test_the_demo_keeps_to_its_own_files_whatever_store_the_team_configured(tmp_path, monkeypatch):
    """The nightly job's UNDERTOW_DATABASE_URL and Chroma server never receive invented accounts
    (both point at ports where nothing listens: a demo that used them would fail)."""
    monkeypatch.setenv("UNDERTOW_DATABASE_URL", "postgresql+psycopg://nobody:x@127.0.0.1:9/team")
    monkeypatch.setenv("UNDERTOW_CHROMA_URL", "http://127.0.0.1:9")
    home = tmp_path / "demo-home"
    result = CliRunner().invoke(app, ["demo", "--home", str(home), "--accounts", "2", "--json"])
    assert result.exit_code == 0, result.output
    assert (home / "undertow.db").exists() and (home / "chroma").is_dir()


@pytest.mark.slow
def test_demo_end_to_end_with_the_local_classifier(embedder, settings, tmp_path):
    from undertow.store.records import RecordStore

    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--accounts", "8", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    portfolio = build_portfolio(8)
    assert report["ingest"]["failed"] == 0 and report["ingest"]["new"] == report["documents"] == len(portfolio.documents)
    assert (report["backtest"]["n_accounts"], report["backtest"]["n_churned"]) == (8, sum(a.churned for a in portfolio.accounts))
    for key in ("quantitative", "combined"):
        assert set(report["backtest"][key]) == {"roc_auc", "precision_at_10pct", "precision_at_20pct", "green_churn_share"}

    records = RecordStore(settings.sqlite_url)
    assert {a["account_id"] for a in records.accounts()} == {a.account_id for a in portfolio.accounts}
    days = collections.Counter(s["as_of"].date() for s in records.snapshots())
    assert days == {DEMO_DATE: 8, DEMO_DATE - dt.timedelta(days=30): 8}  # last month's run gives today's trend
    red = next(a for a in portfolio.accounts if a.archetype == "red_numbers")
    assert red.account_id in {r["account_id"] for r in report["review"]}

    again = CliRunner().invoke(app, ["demo", "--out", str(out), "--accounts", "8", "--json"])
    assert again.exit_code == 0, again.output
    rerun = json.loads(again.stdout)
    assert (rerun["ingest"]["new"], rerun["ingest"]["skipped"]) == (0, report["documents"])
    assert len(records.snapshots()) == 16
