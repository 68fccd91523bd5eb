"""`undertow serve`'s pages, in process: the figures are annotate's, the forms write to the stores
`train` and the snapshots use, and customer text stays text."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import urllib.request
from html import unescape
from types import SimpleNamespace

import pytest
from starlette.testclient import TestClient

from web_demo import annotate_json, build_demo, expected_figures

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return build_demo(tmp_path_factory.mktemp("web-demo"))


@pytest.fixture()
def client(demo):
    from undertow.web.app import create_app

    return TestClient(create_app(demo[1], default_user="casey"))


def form_key(page: str) -> str:
    return re.search(r'name="form_key" value="([^"]+)"', page).group(1)


def figures(page: str) -> dict[str, float]:
    return {name: float(value) for name, value in re.findall(r'data-figure="(\w+)" data-value="([^"]*)"', page) if value not in ("", "None")}


def test_the_portfolio_shows_annotates_numbers(demo, client):
    rows = annotate_json(demo[1])["rows"]
    expected = expected_figures(rows)
    page = client.get("/")
    assert page.status_code == 200
    shown = figures(page.text)
    for name in ("accounts", "review", "arr_at_risk", "arr_total"):
        assert shown[name] == pytest.approx(expected[name]), name
    bands = {band: int(n) for band, n in re.findall(r'data-band="(\w+)" data-accounts="(\d+)"', page.text)}
    assert bands == {band: sum(1 for r in rows if r["band"] == band) for band in ("red", "yellow", "green")}
    # The queue is annotate's order: accounts to review first, by priority.
    queued = re.findall(r'<tr data-account="([^"]+)"', page.text)
    assert queued == [r["account_id"] for r in rows if r["review"]]
    api = client.get("/api/portfolio").json()
    assert (api["accounts"], api["review"]) == (expected["accounts"], expected["review"])
    assert api["arr_at_risk"] == pytest.approx(expected["arr_at_risk"])


def test_filters_keep_only_the_accounts_asked_for(demo, client):
    rows = annotate_json(demo[1])["rows"]
    owner = rows[0]["csm_owner"]
    api = client.get("/api/portfolio", params={"owner": owner}).json()
    assert api["accounts"] == sum(1 for r in rows if r["csm_owner"] == owner) < len(rows)
    assert all(line["csm_owner"] == owner for line in api["review_queue"])
    signal = next(s for r in rows for s in r["signals"])
    flagged = client.get("/api/portfolio", params={"signal": signal}).json()
    assert flagged["accounts"] == sum(1 for r in rows if signal in r["signals"])
    page = client.get("/", params={"owner": owner, "segment": "no-such-segment"})
    assert figures(page.text)["accounts"] == 0 and "No account needs a review" in page.text
    segment = rows[0]["segment"]
    shouted = client.get("/api/portfolio", params={"segment": segment.upper().replace("-", " ")}).json()
    assert shouted["accounts"] == sum(1 for r in rows if r["segment"] == segment) > 0  # as the scorecard's profiles match it


def test_the_account_page_marks_the_evidence_inside_its_document(demo, client):
    _, workspace = demo
    account_id = next(r["account_id"] for r in annotate_json(workspace)["rows"] if r["signals"])
    page = client.get(f"/accounts/{account_id}")
    assert page.status_code == 200
    data = client.get(f"/api/accounts/{account_id}").json()
    row = next(r for r in annotate_json(workspace)["rows"] if r["account_id"] == account_id)
    assert figures(page.text)["health_score"] == pytest.approx(row["health_score"])
    assert data["signals"] == row["signals"] and data["flags"]
    marked = [unescape(m) for m in re.findall(r"<mark>(.*?)</mark>", page.text, flags=re.DOTALL)]
    quotes = {q for flag in data["flags"] for q in flag["quotes"]}
    assert marked and set(marked) <= quotes
    documents = {d["id"]: d["text"] for d in workspace.home.records.iter_documents(account_id)}
    assert all(any(m in text for text in documents.values()) for m in marked)
    # The inputs that cost the most points come first; those under the account's own score pull it down.
    costs = [i["cost"] for i in data["inputs"]]
    assert costs == sorted(costs, reverse=True)
    assert [i["input"] for i in data["inputs"] if i["pulls_down"]] == [i["input"] for i in data["inputs"] if i["points"] < data["quant_score"]]
    assert page.text.count("pulls the score down") == sum(i["pulls_down"] for i in data["inputs"])
    assert [s for s in data["next_steps"]] == row["signals"] and all(data["next_steps"].values())


def test_reject_and_relabel_write_the_feedback_train_reads(demo, client):
    _, workspace = demo
    account_id = next(r["account_id"] for r in annotate_json(workspace)["rows"] if r["signals"])
    flag = client.get(f"/api/accounts/{account_id}").json()["flags"][0]
    page = client.get(f"/accounts/{account_id}").text
    form = {"account_id": account_id, "doc_id": flag["doc_id"], "signal": flag["signal"], "verdict": "reject"}

    refused = client.post("/feedback", data=form)  # no form key: a stale page, or another site
    assert refused.status_code == 403
    assert not [f for f in workspace.home.records.feedback() if f["doc_id"] == flag["doc_id"]]

    client.cookies.set("undertow_user", "robin")
    done = client.post("/feedback", data={**form, "form_key": form_key(page)}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith(f"/accounts/{account_id}?saved=flag")
    stored = {(f["signal"], f["present"], f["author"]) for f in workspace.home.records.feedback() if f["doc_id"] == flag["doc_id"]}
    assert stored == {(flag["signal"], False, "robin")}
    flags_after = client.get(f"/api/accounts/{account_id}").json()["flags"]
    after = flags_after[0]
    assert after["verdict"]["author"] == "robin" and after["verdict"]["present"] is False and after["verdict"]["at"]
    # The rejected flag still shows, with its verdict, but no longer counts in the score.
    others = [f for f in flags_after[1:] if f["signal"] == flag["signal"] and not f["verdict"]]
    assert after["active"] is bool(others) and flag["active"]

    other = next(name for name in workspace.home.signal_names if name != flag["signal"])
    client.post("/feedback", data={**form, "verdict": "relabel", "relabel_to": other, "form_key": form_key(page)})
    stored = {(f["signal"], f["present"]) for f in workspace.home.records.feedback() if f["doc_id"] == flag["doc_id"]}
    assert stored == {(flag["signal"], False), (other, True)}
    unknown = client.post("/feedback", data={**form, "verdict": "relabel", "relabel_to": "", "form_key": form_key(page)})
    assert unknown.status_code == 400 and "relabel" in unknown.text


def test_a_review_note_is_kept_with_the_days_snapshot_and_shown_as_text(demo, client):
    _, workspace = demo
    queued = client.get("/api/portfolio").json()["review_queue"][0]["account_id"]
    page = client.get("/").text
    note = "Called the sponsor <script>alert(1)</script>; renewal call booked"
    done = client.post("/review", data={"account_id": queued, "note": note, "form_key": form_key(page), "back": "/?owner="},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/?owner=&saved=review"
    (review,) = [r for r in workspace.home.records.reviews(account_id=queued)]
    assert (review["note"], review["author"], review["as_of"].date()) == (note, "casey", workspace.as_of)
    shown = client.get("/").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown and "<script>alert(1)" not in shown
    line = next(q for q in client.get("/api/portfolio").json()["review_queue"] if q["account_id"] == queued)
    assert line["reviewed"]["note"] == note and line["reviewed"]["as_of"] == workspace.as_of.isoformat()


def test_a_form_can_only_send_people_back_into_the_workspace(demo, client):
    page = client.get("/").text
    moved = client.post("/whoami", data={"name": "  Dana  Smith ", "form_key": form_key(page), "back": "//evil.example/x"}, follow_redirects=False)
    assert moved.status_code == 303 and moved.headers["location"] == "/?saved=name"
    assert "Dana Smith" in client.get("/").text
    signed = client.post("/whoami", data={"name": "Łukasz Nowak 李", "form_key": form_key(page), "back": "/"}, follow_redirects=False)
    assert signed.status_code == 303 and "Łukasz Nowak 李" in client.get("/").text  # a cookie holds Latin-1 only


def test_an_unknown_account_is_one_clear_message_and_search_finds_by_name(demo, client):
    missing = client.get("/accounts/no-such-account")
    assert missing.status_code == 404 and "no account 'no-such-account'" in unescape(missing.text)
    api = client.get("/api/accounts/no-such-account")  # a script gets JSON, not the error page
    assert api.status_code == 404 and "no account 'no-such-account'" in api.json()["error"]
    assert client.get("/accounts", params={"q": "zzz-nothing"}).status_code == 200
    some = annotate_json(demo[1])["rows"][0]
    found = client.get("/accounts", params={"q": some["account_name"][:5]})
    assert f'/accounts/{some["account_id"]}' in found.text


def test_undertow_serve_demo_shows_the_demo_portfolio(demo):
    """`undertow demo` then `undertow serve --demo`: the command a person runs, in its own process."""
    settings, workspace = demo
    server = subprocess.Popen([sys.executable, "-m", "undertow", "serve", "--demo", "--port", "0"], stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "UNDERTOW_DEMO_HOME": str(settings.resolved_home)})
    try:
        line = server.stderr.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line).group(0)
        with urllib.request.urlopen(url, timeout=30) as response:
            page = response.read().decode()
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert line.startswith(f"{len(annotate_json(workspace)['rows'])} accounts;")
    assert f"Portfolio health as of {workspace.as_of.isoformat()}" in page and figures(page)["accounts"] == len(workspace.scored().accounts)


def test_the_demo_ends_with_the_command_that_opens_the_workspace(tmp_path):
    from undertow.cli.render_demo import serve_command

    home = tmp_path / "demo-home"
    built_in_home = SimpleNamespace(folder=home / "demo", as_of=None, result=None)
    assert serve_command(built_in_home, home) == f"undertow serve --demo --home {home}"
    elsewhere = SimpleNamespace(folder=tmp_path / "files", as_of=dt.date(2026, 10, 1),
                                result=SimpleNamespace(files=SimpleNamespace(accounts=tmp_path / "files" / "accounts.csv")))
    assert serve_command(elsewhere, home) == f"undertow serve {tmp_path / 'files' / 'accounts.csv'} --as-of 2026-10-01 --home {home}"
