"""Customer text stays private: the home is owner-only on disk, and no secret of a configured URL
is printed."""

from __future__ import annotations

import json
import os
import stat

import pytest
from typer.testing import CliRunner

from helpers import doc, run_ingest, write_jsonl
from undertow.cli.app import app
from undertow.masking import mask_url


@pytest.fixture()
def loose_umask():
    """What tests and library users run with: files 0644 unless Undertow sees to it."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def modes(folder) -> dict[str, int]:
    found = {str(folder): stat.S_IMODE(folder.stat().st_mode)}
    for parent, folders, files in os.walk(folder):
        for name in folders + files:
            path = os.path.join(parent, name)
            found[path] = stat.S_IMODE(os.lstat(path).st_mode)
    return found


def test_after_ingest_the_home_is_0700_and_every_file_0600(tmp_path, settings, home, loose_umask):
    path = write_jsonl(tmp_path / "notes.jsonl", [doc(1), doc(2)])
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("{not json\n")  # a quarantine file too
    run_ingest([path], settings)

    found = modes(home)
    names = {os.path.basename(p) for p in found}
    assert {"undertow.db", "chroma.sqlite3", "undertow.lock", "quarantine"} <= names
    assert any(name.startswith("run-") for name in names)
    for path, mode in found.items():
        expected = 0o700 if os.path.isdir(path) else 0o600
        assert mode == expected, f"{path} is {oct(mode)}"


def test_a_world_readable_home_from_an_older_version_is_tightened_on_open(tmp_path, settings, home, loose_umask):
    from undertow.store.home import Home

    (home / "quarantine").mkdir(parents=True)
    (home / "quarantine" / "run-1.jsonl").write_text("{}\n")
    (home / "undertow.db").write_bytes(b"")
    for path in (home, home / "quarantine"):
        path.chmod(0o755)
    for path in (home / "undertow.db", home / "quarantine" / "run-1.jsonl"):
        path.chmod(0o644)
    outside = tmp_path / "shared.txt"
    outside.write_text("not Undertow's")
    outside.chmod(0o644)
    (home / "link").symlink_to(outside)

    Home(settings)

    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "quarantine").stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "undertow.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "quarantine" / "run-1.jsonl").stat().st_mode) == 0o600
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644, "a link's target outside the home is not Undertow's to change"


def test_status_shows_where_the_endpoints_are_but_none_of_their_secrets(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "https://user:s3cret@llm.example.com/v1?api_key=abc123")
    monkeypatch.setenv("UNDERTOW_CHROMA_URL", "https://chroma:pw0rd@vectors.example.com:8443/?token=t0k3n")
    runner = CliRunner()

    as_json = runner.invoke(app, ["status", "--json"])
    assert as_json.exit_code == 0, as_json.output
    report = json.loads(as_json.stdout)
    assert report["llm"] == "https://user:***@llm.example.com/v1?api_key=***"
    assert report["vector_store"] == "https://chroma:***@vectors.example.com:8443/?token=***"

    as_text = runner.invoke(app, ["status"])
    assert as_text.exit_code == 0, as_text.output
    for output in (as_json.output, as_text.output):
        for secret in ("s3cret", "abc123", "pw0rd", "t0k3n"):
            assert secret not in output


@pytest.mark.parametrize(
    "url, masked",
    [
        ("https://user:s3cret@host/v1?api_key=abc", "https://user:***@host/v1?api_key=***"),
        ("postgresql+psycopg://app:p@ss@db:5432/undertow?sslmode=require", "postgresql+psycopg://app:***@db:5432/undertow?sslmode=require"),
        ("http://127.0.0.1:8000/v1?model=x&access_token=t&X-Amz-Signature=s", "http://127.0.0.1:8000/v1?model=x&access_token=***&X-Amz-Signature=***"),
        ("sqlite:////srv/a@b/undertow.db", "sqlite:////srv/a@b/undertow.db"),
        ("https://user@host/v1", "https://***@host/v1"),  # a user part alone may be the key itself
        ("http://sk-live-abcdef123456@127.0.0.1:8080/v1", "http://***@127.0.0.1:8080/v1"),
        (None, None),
    ],
)
def test_mask_url_hides_passwords_and_secret_parameters_only(url, masked):
    assert mask_url(url) == masked


@pytest.mark.parametrize(
    "base_url, loopback",
    [("http://127.0.0.1:8080/v1", True), ("http://[::1]:8080/v1", True), ("http://localhost:8080/v1", True),
     ("https://127.llm-gateway.example.com/v1", False), ("http://127.0.0.1.nip.io/v1", False)],
)
def test_only_an_address_on_this_machine_turns_redaction_off(base_url, loopback):
    from undertow.settings import LLMSettings

    assert (LLMSettings(base_url=base_url).loopback, LLMSettings(base_url=base_url).redacts) == (loopback, not loopback)
