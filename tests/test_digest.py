"""`undertow digest`: what changed between two scorings, in Markdown, HTML and a chat payload,
posted only to the webhook the user names."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading

import numpy as np
import pytest
from typer.testing import CliRunner

from undertow.cli.app import app
from undertow.store.records import RecordStore, StoredDocument

DAY1, DAY2 = dt.datetime(2026, 9, 1), dt.datetime(2026, 10, 1)
DROP = [{"kind": "score_drop", "reason": "health fell 40 points since 2026-09-01 (from 80 to 40)"}]


def snapshot(account: str, day: dt.datetime, health: float, band: str, review: list | None = None) -> dict:
    return {"account_id": account, "as_of": day, "quant_score": health, "qual_risk": 0.0, "health_score": health, "band": band,
            "signals": "", "review": json.dumps(review or [])}


def flagged(records, account: str, doc_id: str, date: dt.datetime, signal: str, text: str, stored: dt.datetime) -> None:
    row = {"id": doc_id, "account_id": account, "account_name": account.title(), "source": "email", "date": date, "author": "",
           "language": "en", "subject": "", "text": text, "content_hash": doc_id, "text_key": doc_id, "origin": "test", "embed_model": "test",
           "run_id": None, "ingested_at": stored}
    flag = {"doc_id": doc_id, "signal": signal, "account_id": account, "confidence": 0.9, "evidence": json.dumps([{"quote": text, "start": 0, "end": len(text)}]),
            "backend": "test", "model_version": "t", "created_at": stored}
    records.save_documents([StoredDocument(row=row, spans=[(0, len(text))], vectors=np.zeros((1, 4), np.float32), flags=[flag])])


@pytest.fixture()
def store(settings):
    records = RecordStore(settings.sqlite_url)
    records.save_snapshots([snapshot("acme", DAY1, 80, "green"), snapshot("globex", DAY1, 30, "red", DROP), snapshot("initech", DAY1, 70, "green"),
                            snapshot("umbrella", DAY1, 60, "yellow")])
    records.save_snapshots([snapshot("acme", DAY2, 40, "yellow", DROP), snapshot("globex", DAY2, 28, "red", DROP),
                            snapshot("initech", DAY2, 67, "green"), snapshot("hooli", DAY2, 20, "red", DROP)])
    long_ago = dt.datetime(2026, 1, 5)
    flagged(records, "acme", "a-1", dt.datetime(2026, 9, 20), "champion_departure", "Our <b>sponsor</b> Dana leaves in November.", long_ago)
    flagged(records, "acme", "a-2", dt.datetime(2026, 9, 21), "budget_pressure", "Finance froze every tool purchase.", long_ago)  # not severe
    flagged(records, "globex", "g-1", dt.datetime(2026, 8, 10), "churn_intent", "We will not renew next year.", long_ago)  # before the period
    flagged(records, "initech", "i-1", dt.datetime(2026, 8, 12), "competitor_mention", "Procurement is trialling Orbitly.",
            dt.datetime(2026, 10, 1, 2, 30))  # an old document, stored last night
    flagged(records, "initech", "i-2", dt.datetime(2026, 10, 3), "churn_intent", "Cancelling at renewal.", long_ago)  # after the as-of day
    return records


def digest_of(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["digest", *args])
    return result.exit_code, result.stdout if result.exit_code == 0 else result.output


def test_the_digest_lists_what_changed_since_the_last_scoring(store):
    code, out = digest_of("--since", "1d", "--format", "json")
    assert code == 0, out
    digest = json.loads(out)["digest"]
    assert (digest["as_of"], digest["previous_snapshot"]) == ("2026-10-01", "2026-09-01")  # the newest scoring, by default
    assert [(e["account_id"], e["new_account"]) for e in digest["entered_review"]] == [("hooli", True), ("acme", False)]
    assert digest["entered_review"][1]["reasons"] == [DROP[0]["reason"]]
    assert [(d["account_id"], d["change"]) for d in digest["score_drops"]] == [("acme", -40.0)]  # initech's -3 is noise
    assert {(f["account_id"], f["signal"]) for f in digest["new_flags"]} == {("acme", "champion_departure"), ("initech", "competitor_mention")}
    assert digest["left_review"] == []


def test_a_narrower_threshold_or_an_earlier_day_changes_the_digest(store):
    code, out = digest_of("--format", "json", "--min-drop", "2", "--min-severity", "0.5")
    flags = {f["signal"] for f in json.loads(out)["digest"]["new_flags"]}
    assert code == 0 and "budget_pressure" in flags
    assert [d["account_id"] for d in json.loads(out)["digest"]["score_drops"]] == ["acme", "initech", "globex"]
    code, out = digest_of("--format", "json", "--as-of", "2026-09-01")
    first = json.loads(out)["digest"]
    assert first["previous_snapshot"] is None and {e["account_id"] for e in first["entered_review"]} == {"globex"}


def test_markdown_and_html_quote_the_evidence_as_text(store, tmp_path):
    code, out = digest_of()
    assert code == 0
    assert "# Undertow digest for 2026-10-01" in out and "## 2 account(s) entered the review queue" in out
    # Markdown renderers and Slack read <...> as markup: the customer's words stay words.
    assert "> \u201cOur &lt;b&gt;sponsor&lt;/b&gt; Dana leaves in November.\u201d" in out and "<b>" not in out
    code, _ = digest_of("--format", "html", "--out", str(tmp_path / "digest.html"))
    page = (tmp_path / "digest.html").read_text(encoding="utf-8")
    assert code == 0 and "Our &lt;b&gt;sponsor&lt;/b&gt; Dana" in page and "<b>sponsor" not in page


def test_the_chat_text_cannot_ping_a_channel_or_disguise_a_link(store):
    flagged(store, "initech", "i-3", dt.datetime(2026, 9, 30), "churn_intent", "We leave: see <https://phish.example|the form> and <!channel>.",
            dt.datetime(2026, 10, 1, 3))
    code, out = digest_of("--json")  # the same as --format json
    text = json.loads(out)["text"]
    assert code == 0 and "&lt;https://phish.example|the form&gt; and &lt;!channel&gt;" in text
    assert "<!channel>" not in text and "<https://" not in text


def test_accounts_that_left_the_queue_are_named(store):
    store.save_snapshots([snapshot("acme", dt.datetime(2026, 10, 2), 85, "green"), snapshot("globex", dt.datetime(2026, 10, 2), 28, "red", DROP)])
    code, out = digest_of("--as-of", "2026-10-02")
    assert code == 0 and "1 account(s) left the review queue: acme." in out


def test_bad_options_are_one_line(store, settings):
    assert digest_of("--since", "3h")[0] == 2 and "use days or weeks" in digest_of("--since", "3h")[1]
    assert digest_of("--format", "pdf")[0] == 2
    assert digest_of("--json", "--format", "html")[0] == 2 and "two formats" in digest_of("--json", "--format", "html")[1]
    empty = CliRunner().invoke(app, ["digest", "--home", str(settings.resolved_home / "other")])
    assert empty.exit_code == 2 and "no scores in" in empty.stderr


class Hook(http.server.BaseHTTPRequestHandler):
    received: list = []
    status = 200

    def do_POST(self):  # the standard library's name for it
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append((self.path, self.headers["Content-Type"], json.loads(body)))
        self.send_response(Hook.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture()
def webhook():
    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Hook.received.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/SECRETPART"
    server.shutdown()


def test_the_payload_is_posted_only_to_the_webhook_named(store, webhook):
    code, _ = digest_of()
    assert code == 0 and Hook.received == []
    result = CliRunner().invoke(app, ["digest", "--webhook", webhook])
    assert result.exit_code == 0, result.output
    ((path, kind, payload),) = Hook.received
    assert path.endswith("/SECRETPART") and kind == "application/json"
    assert payload["text"].startswith("*Undertow digest for 2026-10-01*") and len(payload["digest"]["entered_review"]) == 2

    Hook.status = 500
    try:
        failed = CliRunner().invoke(app, ["digest", "--webhook", webhook])
    finally:
        Hook.status = 200
    assert failed.exit_code == 2 and "answered 500" in failed.stderr and "SECRETPART" not in failed.stderr


def test_the_digest_names_accounts_as_the_accounts_export_did(store):
    """hooli has no documents, so no name but the one its export gave; acme's export name wins too."""
    store.save_snapshots([{**snapshot("hooli", DAY2, 20, "red", DROP), "account_name": "Hooli XYZ"},
                          {**snapshot("acme", DAY2, 40, "yellow", DROP), "account_name": "Acme Corporation"}])
    code, out = digest_of("--since", "1d", "--format", "json")
    names = {e["account_id"]: e["account_name"] for e in json.loads(out)["digest"]["entered_review"]}
    assert code == 0 and names == {"hooli": "Hooli XYZ", "acme": "Acme Corporation"}
