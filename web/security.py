"""What keeps customer text on the pages from reaching anyone else.

- Host: on loopback only loopback names are answered, so a web page elsewhere cannot rebind its
  own domain name to 127.0.0.1 and read the workspace through it.
- Token: when one is set (always, off loopback), every request carries it as a header
  (`Authorization: Bearer`, `X-Undertow-Token`), a cookie, or once as `?token=`, which is then
  moved into an HttpOnly cookie and out of the address bar.
- Forms: every POST carries the per-process form key (another site cannot read it from our pages)
  and, when the browser sends one, an Origin of this host.
- Headers: nothing is loaded from elsewhere (CSP), no framing, no caching of customer text.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlencode, urlsplit

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

TOKEN_COOKIE = "undertow_token"
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def new_form_key() -> str:
    return secrets.token_urlsafe(24)


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


def host_name(header: str) -> str:
    """'127.0.0.1:8765' -> '127.0.0.1', '[::1]:8765' -> '::1'."""
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def presented_token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-undertow-token") or request.cookies.get(TOKEN_COOKIE)


class Guard(BaseHTTPMiddleware):
    def __init__(self, app, token: str | None, allowed_hosts: list[str] | None):
        super().__init__(app)
        self.token, self.allowed_hosts = token, allowed_hosts

    async def dispatch(self, request: Request, call_next) -> Response:
        refused = self.refusal(request)
        if refused is not None:
            return self.harden(refused)
        if self.token and same(request.query_params.get("token"), self.token):
            kept = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])
            # '//evil.example/' is a path here but another site to a browser: back to this site's root.
            path = request.url.path if not request.url.path.startswith("//") else "/"
            response = RedirectResponse(path + (f"?{kept}" if kept else ""), status_code=303)
            response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="strict", path="/")
            return self.harden(response)
        return self.harden(await call_next(request))

    def refusal(self, request: Request) -> Response | None:
        if self.allowed_hosts is not None and host_name(request.headers.get("host", "")) not in self.allowed_hosts:
            return PlainTextResponse("unexpected Host header: open the workspace at the address `undertow serve` printed", status_code=400)
        if self.token and not (same(presented_token(request), self.token) or same(request.query_params.get("token"), self.token)):
            return PlainTextResponse("this workspace needs its token: open the address `undertow serve` printed (with ?token=...)", status_code=401)
        origin = request.headers.get("origin")
        if request.method == "POST" and origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
            return PlainTextResponse("a form from another site cannot write here", status_code=403)
        return None

    @staticmethod
    def harden(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response
