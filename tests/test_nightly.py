"""`undertow nightly --config FILE`: every source ingested, the accounts scored, exit codes cron can trust."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from helpers import doc, write_jsonl
from undertow.cli.app import app

CHAMPION = "Our sponsor Dana told us she is leaving the company at the end of the month and nobody replaces her yet."
ACCOUNTS = """account_id,account_name,segment,seats_licensed,seats_active,logins_30d,logins_prev_30d,csat,Region
acme,Acme Foods,mid-market,100,90,1000,950,4.6,EMEA
beta,Beta Bank,mid-market,100,92,1000,990,4.7,APAC
"""
NOTE = """---
account_id: beta
date: 2026-09-20
source: call_note
author: j.rossi
---
Walked through the new dashboard filters; they want the export scheduled weekly.
"""


def write_config(folder: Path, sources: str | None = None, extra: str = "") -> Path:
    """A config with relative paths, read from the config's folder whatever the working directory."""
    sources = sources if sources is not None else '[[sources]]\nname = "crm"\npaths = ["exports/crm.jsonl"]\n\n[[sources]]\npaths = ["exports/notes"]\n'
    path = folder / "nightly.toml"
    path.write_text(
        f'{extra}\n{sources}\n[accounts]\npath = "exports/accounts.csv"\nas_of = 2026-10-01\n\n'
        '[outputs]\nannotated = "reports/annotated.csv"\nsummary = "reports/summary.json"\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture()
def exports(tmp_path: Path) -> Path:
    folder = tmp_path / "exports"
    (folder / "notes").mkdir(parents=True)
    write_jsonl(folder / "crm.jsonl", [doc(1, CHAMPION, date="2026-09-28"), doc(2, date="2026-09-21")])
    (folder / "notes" / "beta-call.md").write_text(NOTE, encoding="utf-8")
    (folder / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8")
    return folder


def squashed(text: str) -> str:
    """Without whitespace: the error console wraps long lines, even inside a long path."""
    return "".join(text.split())


def nightly(*args: str):
    return CliRunner().invoke(app, ["nightly", *args])


def annotated_rows(tmp_path: Path) -> dict[str, dict]:
    rows = pd.read_csv(tmp_path / "reports" / "annotated.csv", dtype=str, keep_default_na=False).to_dict("records")
    return {row["account_id"]: row for row in rows}


def stored_documents(home: Path) -> int:
    from undertow.store.records import RecordStore

    return RecordStore(f"sqlite:///{home / 'undertow.db'}").counts()["documents"]


def test_two_sources_and_the_accounts_export(tmp_path, exports, home):
    result = nightly("--config", str(write_config(tmp_path)), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    documents = summary["documents"]
    assert (documents["read"], documents["new"], documents["updated"], documents["skipped"], documents["rejected"]) == (3, 3, 0, 0, 0)
    assert documents["flagged"] >= 1
    assert [(s["name"], s["read"]) for s in summary["sources"]] == [("crm", 2), (str(exports / "notes"), 1)]
    assert summary["accounts"] | {"problems": []} == {
        "path": str(exports / "accounts.csv"), "as_of": "2026-10-01", "scored": 2, "review": summary["accounts"]["review"],
        "bad_rows": 0, "problems": [],
    }
    assert summary["exit_code"] == 0 and summary["quarantine"] == []
    # The file a monitor reads says the same as stdout.
    assert json.loads((tmp_path / "reports" / "summary.json").read_text(encoding="utf-8")) == summary

    rows = annotated_rows(tmp_path)
    assert list(rows) == ["acme", "beta"]
    assert rows["acme"]["Region"] == "EMEA"  # the input columns are kept
    assert "champion_departure" in rows["acme"]["signals"]  # flags from tonight's documents reach the scores
    assert stored_documents(home) == 3


def test_a_bad_line_is_rejected_and_the_rest_stored_and_scored(tmp_path, exports, home):
    with open(exports / "crm.jsonl", "a", encoding="utf-8") as handle:
        handle.write("{not json\n")
    result = nightly("--config", str(write_config(tmp_path)), "--json")
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    assert (summary["documents"]["new"], summary["documents"]["rejected"]) == (3, 1)
    crm = summary["sources"][0]
    assert crm["failures"] == [f"{exports / 'crm.jsonl'}:3: not valid JSON (Expecting property name enclosed in double quotes at column 2)"]
    quarantined = Path(crm["quarantine"])
    assert quarantined.parent == home / "quarantine"
    assert json.loads(quarantined.read_text(encoding="utf-8").splitlines()[0])["raw"] == "{not json\n"
    assert summary["exit_code"] == 1
    assert stored_documents(home) == 3
    assert "champion_departure" in annotated_rows(tmp_path)["acme"]["signals"]


def test_a_missing_source_is_reported_and_the_others_still_run(tmp_path, exports, home):
    sources = (
        '[[sources]]\nname = "gone"\npaths = ["exports/no-such-folder"]\n\n'
        '[[sources]]\nname = "crm"\npaths = ["exports/crm.jsonl"]\n'
    )
    result = nightly("--config", str(write_config(tmp_path, sources)))
    assert result.exit_code == 1, result.output
    missing = exports / "no-such-folder"
    assert f"{missing}: no such file or folder" in result.stderr  # as it happens, for the log
    # The morning summary names the source, the rejection and where it was quarantined.
    assert "gone: read 0, new 0, updated 0, rejected 1" in result.stdout
    assert "crm: read 2, new 2, updated 0, rejected 0" in result.stdout
    assert f"quarantined in {home / 'quarantine'}" in result.stdout
    assert "exit code 1" in result.stdout
    assert stored_documents(home) == 2
    assert list(annotated_rows(tmp_path)) == ["acme", "beta"]


@pytest.mark.parametrize(
    ("change", "names"),
    [
        ('[[sources]]\npaths = ["exports/crm.jsonl"]\nacount = "acme"\n', "sources#1.acount: unknown key; the keys here are paths, name, account"),
        ('[[sources]]\npaths = "exports/crm.jsonl"\n', "sources#1.paths: Input should be a valid list"),
        ('[[sources]]\npaths = ["exports/crm.jsonl"]\nmap = { txt = "Body" }\n', "sources#1.map: unknown fields ['txt']"),
        ('[[sources]]\npaths = ["exports/crm.jsonl"]\n[[sources]]\npaths = ["x"]\nown_domain = "vendor.io"\n', "sources#2.own_domain: Input should be a valid list"),
        ('[[sources]]\npaths = [exports/crm.jsonl]\n', "not valid TOML"),
    ],
)
def test_a_config_mistake_is_one_line_naming_the_file_and_key(tmp_path, exports, home, change, names):
    config = write_config(tmp_path, change)
    result = nightly("--config", str(config))
    assert result.exit_code == 2, result.output
    assert squashed(f"{config}: ") in squashed(result.stderr) and squashed(names) in squashed(result.stderr)
    assert "Traceback" not in result.output
    assert not (home / "undertow.db").exists()  # nothing was read


def test_a_config_error_is_one_line():
    from pydantic import ValidationError

    from undertow.nightly import NightlyConfig, describe_validation_error

    with pytest.raises(ValidationError) as caught:
        NightlyConfig.model_validate({"sources": [{"paths": 3, "nme": "x"}], "outputs": {"annotated": "out.txt"}})
    message = describe_validation_error(caught.value)
    assert "\n" not in message
    assert message.startswith("sources#1.paths: Input should be a valid list (and 3 more problems)"), message


@pytest.mark.parametrize(
    ("accounts", "names"),
    [
        ('[accounts]\npath = "exports/missing.csv"\n', "accounts.path: no such file"),
        ('[accounts]\npath = "exports/accounts.csv"\nsnapshot = "yes"\n', "accounts.snapshot: Input should be a valid boolean"),
        ('[accounts]\npath = "exports/accounts.csv"\nmap = { account_id = "Salesforce ID" }\n', "no column 'Salesforce ID'"),
    ],
)
def test_a_bad_accounts_section_stops_the_run_before_ingesting(tmp_path, exports, home, accounts, names):
    config = tmp_path / "nightly.toml"
    config.write_text(f'[[sources]]\npaths = ["exports/crm.jsonl"]\n\n{accounts}\n[outputs]\nannotated = "out.csv"\n', encoding="utf-8")
    result = nightly("--config", str(config))
    assert result.exit_code == 2, result.output
    assert squashed(names) in squashed(result.stderr) and "Traceback" not in result.output
    assert not (home / "undertow.db").exists() or stored_documents(home) == 0


def test_a_missing_config_file_says_how_to_start(tmp_path):
    result = nightly("--config", str(tmp_path / "nightly.toml"))
    assert result.exit_code == 2
    assert squashed("no such config file") in squashed(result.stderr) and "--print-example-config" in squashed(result.stderr)


def test_the_second_night_stores_nothing_new(tmp_path, exports):
    store = tmp_path / "store"
    config = write_config(tmp_path, extra='home = "store"')  # relative to the config file
    first = nightly("--config", str(config), "--json")
    assert first.exit_code == 0, first.output
    second = nightly("--config", str(config), "--json")
    assert second.exit_code == 0, second.output
    documents = json.loads(second.stdout)["documents"]
    assert (documents["read"], documents["new"], documents["updated"], documents["skipped"]) == (3, 0, 0, 3)
    assert json.loads(second.stdout)["home"] == str(store)
    assert stored_documents(store) == 3


def test_a_second_nightly_on_the_same_home_is_refused(tmp_path, exports, home):
    from undertow.nightly import one_nightly_at_a_time

    home.mkdir(parents=True)
    with one_nightly_at_a_time(home):
        result = nightly("--config", str(write_config(tmp_path)))
    assert result.exit_code == 2, result.output
    assert "another `undertow nightly` is running" in " ".join(result.stderr.split())
    assert not (home / "undertow.db").exists()  # nothing was read
    assert not (tmp_path / "reports" / "annotated.csv").exists()


def test_the_example_config_is_valid_and_a_dry_run_writes_nothing(tmp_path, exports, home):
    from undertow.nightly import load_config

    example = nightly("--print-example-config")
    assert example.exit_code == 0
    (tmp_path / "example.toml").write_text(example.stdout, encoding="utf-8")
    loaded = load_config(tmp_path / "example.toml")
    assert [s.label for s in loaded.sources] == ["call notes", "helpdesk", "shared inbox", "Acme escalation"]
    assert loaded.home is None  # copied as it is, it writes to $UNDERTOW_HOME, as the docs say
    assert loaded.sources[2].own_domain == ["vendor.io"] and loaded.accounts.snapshot

    result = nightly("--config", str(write_config(tmp_path)), "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert [s["files"] for s in plan["sources"]] == [[str(exports / "crm.jsonl")], [str(exports / "notes" / "beta-call.md")]]
    assert plan["accounts"]["rows"] == 2
    assert not (home / "undertow.db").exists() and not (tmp_path / "reports").exists()


def test_workers_embed_in_processes_and_store_what_one_process_stores(tmp_path, exports):
    one, two = tmp_path / "one", tmp_path / "two"
    first = nightly("--config", str(write_config(tmp_path, extra='home = "one"')), "--json")
    assert first.exit_code == 0, first.output
    (tmp_path / "reports").rename(tmp_path / "reports-one")
    second = nightly("--config", str(write_config(tmp_path, extra='home = "two"\nworkers = 2')), "--json")
    assert second.exit_code == 0, second.output
    summary = json.loads(second.stdout)
    assert summary["workers"] == 2
    assert summary["documents"] == json.loads(first.stdout)["documents"]
    assert stored_documents(one) == stored_documents(two) == 3
    # The same vectors and verdicts, so the same scores.
    assert annotated_rows(tmp_path)["acme"]["signals"] == pd.read_csv(tmp_path / "reports-one" / "annotated.csv", dtype=str).set_index("account_id").loc["acme", "signals"]


def test_workers_with_another_embedding_is_refused_before_reading(tmp_path, exports, home, monkeypatch):
    monkeypatch.setenv("UNDERTOW_EMBEDDING", "openai")
    monkeypatch.setenv("OPENAI_API_KEY", "not-used")
    result = nightly("--config", str(write_config(tmp_path, extra="workers = 2")))
    assert result.exit_code == 2, result.output
    message = squashed(result.stderr)
    assert "workers=2:" in message and "setworkers=1" in message
    assert not (tmp_path / "reports" / "annotated.csv").exists()
    assert not (home / "undertow.db").exists() or stored_documents(home) == 0  # nothing was read
