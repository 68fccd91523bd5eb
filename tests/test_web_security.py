"""Who may read the workspace: loopback by default, a token anywhere else, no other site's forms,
no rebinding of another name onto 127.0.0.1, and nothing the pages load from elsewhere."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from typer.testing import CliRunner

from undertow.cli.app import app as cli
from undertow.errors import InputError
from undertow.services.serve import is_loopback, plan_server
from undertow.web.security import Guard, host_name

TOKEN = "s3cret-token-of-enough-length"


def guarded(token=None, allowed_hosts=None) -> TestClient:
    async def hello(request):
        return PlainTextResponse(f"hello {request.method}")

    app = Starlette(routes=[Route("/", hello, methods=["GET", "POST"])],
                    middleware=[Middleware(Guard, token=token, allowed_hosts=allowed_hosts)])
    return TestClient(app, base_url="http://127.0.0.1:8765")


def test_only_loopback_starts_without_a_token():
    assert plan_server("127.0.0.1", 8765, None).token is None
    assert plan_server("::1", 8765, None).allowed_hosts == ["127.0.0.1", "localhost", "::1"]
    for host in ("0.0.0.0", "192.0.2.10", "workspace.example"):
        with pytest.raises(InputError, match="--token"):
            plan_server(host, 8765, None)
    assert plan_server("0.0.0.0", 8765, TOKEN).allowed_hosts is None
    made = plan_server("0.0.0.0", 8765, "auto").token
    assert len(made) >= 16 and made != plan_server("0.0.0.0", 8765, "auto").token
    with pytest.raises(InputError, match="at least 16"):
        plan_server("0.0.0.0", 8765, "short")
    assert [is_loopback(h) for h in ("127.0.0.2", "localhost", "::1", "0.0.0.0", "localhost.example")] == [True, True, True, False, False]


def test_serve_refuses_a_public_address_without_a_token(home):
    result = CliRunner().invoke(cli, ["serve", "--demo", "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "lets other machines read customer text" in " ".join(result.stderr.split())


def test_a_token_is_needed_on_every_request_and_moves_from_the_url_to_a_cookie():
    client = guarded(token=TOKEN)
    assert client.get("/").status_code == 401
    assert client.get("/", params={"token": "wrong-token-of-enough-length"}).status_code == 401
    assert client.get("/", headers={"Authorization": f"Bearer {TOKEN}"}).text == "hello GET"
    assert client.get("/", headers={"X-Undertow-Token": TOKEN}).text == "hello GET"
    entered = client.get("/", params={"token": TOKEN, "owner": "Ana"}, follow_redirects=False)
    assert entered.status_code == 303 and entered.headers["location"] == "/?owner=Ana"
    assert "httponly" in entered.headers["set-cookie"].lower() and "samesite=strict" in entered.headers["set-cookie"].lower()
    assert client.get("/").text == "hello GET"  # the cookie from the redirect
    # '//evil.example/' is this site's path to the server but another site to a browser.
    elsewhere = guarded(token=TOKEN).get(f"http://127.0.0.1:8765//evil.example/?token={TOKEN}", follow_redirects=False)
    assert elsewhere.status_code == 303 and elsewhere.headers["location"] == "/"


def test_on_loopback_only_loopback_host_names_are_answered():
    client = guarded(allowed_hosts=["127.0.0.1", "localhost", "::1"])
    assert client.get("/").status_code == 200
    assert client.get("/", headers={"Host": "localhost:8765"}).status_code == 200
    assert client.get("/", headers={"Host": "[::1]:8765"}).status_code == 200
    assert client.get("/", headers={"Host": "attacker.example:8765"}).status_code == 400
    assert [host_name(h) for h in ("127.0.0.1:80", "[::1]:80", "localhost", "::1")] == ["127.0.0.1", "::1", "localhost", "::1"]


def test_another_sites_form_is_refused_and_pages_load_nothing_from_elsewhere():
    client = guarded()
    assert client.post("/", headers={"Origin": "http://evil.example"}).status_code == 403
    assert client.post("/", headers={"Origin": "http://127.0.0.1:8765"}).text == "hello POST"
    headers = client.get("/").headers
    assert "default-src 'none'" in headers["content-security-policy"] and "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["cache-control"] == "no-store"


def test_templates_name_no_remote_script_style_or_font():
    from pathlib import Path

    import undertow.web

    folder = Path(undertow.web.__file__).parent
    for path in [*folder.glob("templates/*.html"), *folder.glob("static/*")]:
        text = path.read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, path.name


def test_the_address_printed_for_a_public_server_is_one_another_machine_can_open():
    import socket

    url = plan_server("0.0.0.0", 8765, TOKEN).url(8765)
    assert url == f"http://{socket.gethostname()}:8765/?token={TOKEN}" and "0.0.0.0" not in url
    assert plan_server("127.0.0.1", 8765, None).url(9000) == "http://127.0.0.1:9000/"


def test_an_account_id_of_dots_is_still_a_link_to_that_account():
    from undertow.web.app import path_segment

    assert [path_segment(v) for v in ("..", ".", "a.b", "x/y")] == ["%2E%2E", "%2E", "a.b", "x%2Fy"]
