"""`serve`: the workspace in a browser, on this machine only unless a token guards it."""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from undertow.errors import InputError
from undertow.services._shared import Notice, quiet
from undertow.settings import Settings

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
MIN_TOKEN_CHARS = 16


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve anywhere


@dataclass(frozen=True)
class ServerPlan:
    host: str
    port: int
    token: str | None
    allowed_hosts: list[str] | None  # Host headers accepted: loopback names only on loopback (no DNS rebinding)

    def url(self, port: int | None = None) -> str:
        # 0.0.0.0 and :: are where the server listens, not an address another machine can open.
        host = socket.gethostname() if self.host in ("0.0.0.0", "::", "") else self.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port or self.port}/" + (f"?token={self.token}" if self.token else "")


def plan_server(host: str, port: int, token: str | None) -> ServerPlan:
    """Loopback needs no token; any other address refuses to start without one ("auto" makes one)."""
    if token == "auto":
        token = secrets.token_urlsafe(24)
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise InputError(f"--token is {len(token)} characters; use at least {MIN_TOKEN_CHARS} (or --token auto)")
    loopback = is_loopback(host)
    if not loopback and not token:
        raise InputError(
            f"--host {host} lets other machines read customer text: pass --token TOKEN, --token auto, or set UNDERTOW_WEB_TOKEN"
        )
    return ServerPlan(host, port, token, list(LOOPBACK_NAMES) if loopback else None)


def serve(
    settings: Settings,
    accounts_csv: Path | None,
    plan: ServerPlan,
    *,
    demo: bool = False,
    as_of: dt.date | None = None,
    mapping: dict[str, str] | None = None,
    scorecard: Path | None = None,
    user: str = "",
    on_ready: Callable[[str, int], None] = lambda url, accounts: None,
    on_notice: Notice = quiet,
) -> None:
    """Score once (so a bad export is an error before anything listens), then serve until Ctrl-C."""
    from undertow.services.workspace import Workspace, demo_accounts
    from undertow.web.app import create_app
    from undertow.web.server import bind, run

    if accounts_csv is None:
        if not demo:
            raise InputError("name the accounts export to show (undertow serve ACCOUNTS.csv), or open the demo portfolio with --demo")
        accounts_csv, demo_day = demo_accounts(settings)
        as_of = as_of or demo_day
    workspace = Workspace(settings, accounts_csv, as_of=as_of, mapping=mapping, scorecard=scorecard, on_notice=on_notice)
    accounts = len(workspace.scored().accounts)
    app = create_app(workspace, token=plan.token, allowed_hosts=plan.allowed_hosts, default_user=user)
    sock = bind(plan.host, plan.port)
    on_ready(plan.url(sock.getsockname()[1]), accounts)
    run(app, sock)
