"""The workspace's pages: the portfolio, one account, and the forms that write feedback and review
notes. Every page only renders what undertow.services.workspace returns; each also exists as
JSON under /api/, so scripts and the browser read the same figures."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, unquote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from undertow.errors import InputError, NotFound, UndertowError
from undertow.html_page import STYLE, band_badge, num
from undertow.services.feedback import login_name
from undertow.store.lock import StoreBusy
from undertow.web import charts
from undertow.web.jsonview import account_json, portfolio_json
from undertow.web.security import Guard, new_form_key, same

HERE = Path(__file__).parent
USER_COOKIE = "undertow_user"
SAVED = {  # the line a page shows after a form of it was stored (?saved=...)
    "flag": "Your verdict on the flag is saved; the next undertow train learns from it.",
    "review": "Marked reviewed; the note is kept with this day's snapshot.",
    "name": "Your name is saved in this browser; feedback and reviews are signed with it.",
}


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True)
    env.filters.update(num=num, band=lambda b: Markup(band_badge(b)), path=path_segment,
                       label=lambda s: str(s).replace("_", " "))
    env.globals.update(charts=charts, urlencode=urlencode)
    return env


def create_app(workspace, *, token: str | None = None, allowed_hosts: list[str] | None = None, default_user: str = "") -> Starlette:
    env, form_key = _environment(), new_form_key()
    default_user = default_user or login_name()

    def user_of(request: Request) -> str:
        return unquote(request.cookies.get(USER_COOKIE, "")) or default_user

    def render(request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
        saved = SAVED.get(request.query_params.get("saved", ""))
        page = env.get_template(template).render(request=request, user=user_of(request), form_key=form_key, saved=saved, **context)
        return HTMLResponse(page, status_code=status)

    async def form_of(request: Request) -> dict:
        form = await request.form()
        if not same(form.get("form_key"), form_key):
            raise Refused("this form is out of date (the workspace was restarted): reload the page and try again")
        return {key: str(value) for key, value in form.items()}

    async def portfolio(request: Request) -> Response:
        from undertow.services.workspace import Filters

        q = request.query_params
        filters = Filters(owner=q.get("owner", ""), segment=q.get("segment", ""), signal=q.get("signal", ""))
        view = await run_in_threadpool(workspace.portfolio, filters, _int(q.get("page"), 1))
        return render(request, "portfolio.html", **view, query=filters.as_dict())

    async def portfolio_api(request: Request) -> Response:
        from undertow.services.workspace import Filters

        q = request.query_params
        view = await run_in_threadpool(workspace.portfolio, Filters(q.get("owner", ""), q.get("segment", ""), q.get("signal", "")))
        return JSONResponse(portfolio_json(view))

    async def find(request: Request) -> Response:
        text = request.query_params.get("q", "")
        return render(request, "find.html", text=text, found=await run_in_threadpool(workspace.find, text))

    async def account(request: Request) -> Response:
        account_id, question = request.path_params["account_id"], request.query_params.get("q", "").strip()
        view = await run_in_threadpool(workspace.account, account_id)
        brief = await run_in_threadpool(workspace.ask, account_id, question) if question else None
        return render(request, "account.html", **view, question=question, brief=brief)

    async def account_api(request: Request) -> Response:
        return JSONResponse(account_json(await run_in_threadpool(workspace.account, request.path_params["account_id"])))

    async def judge(request: Request) -> Response:
        form = await form_of(request)
        await run_in_threadpool(workspace.judge_flag, form.get("doc_id", ""), form.get("signal", ""), form.get("verdict", ""),
                                user_of(request), form.get("relabel_to", ""))
        anchor = quote(f"flag-{form.get('doc_id', '')}-{form.get('signal', '')}", safe="")
        return RedirectResponse(f"/accounts/{quote(form.get('account_id', ''), safe='')}?saved=flag#{anchor}", status_code=303)

    async def review(request: Request) -> Response:
        form = await form_of(request)
        await run_in_threadpool(workspace.mark_reviewed, form.get("account_id", ""), form.get("note", ""), user_of(request))
        return RedirectResponse(_back(form, "review"), status_code=303)

    async def whoami(request: Request) -> Response:
        form = await form_of(request)
        name = " ".join(form.get("name", "").split())[:80]
        if not name:
            raise InputError("type your name: feedback and reviews are signed with it")
        response = RedirectResponse(_back(form, "name"), status_code=303)
        # Percent-encoded: a cookie holds Latin-1 only, and a team signs as Łukasz or 李.
        response.set_cookie(USER_COOKIE, quote(name), httponly=True, samesite="strict", path="/", max_age=400 * 86400)
        return response

    async def base_css(_: Request) -> Response:
        return PlainTextResponse(STYLE, media_type="text/css")

    async def no_icon(_: Request) -> Response:
        return Response(status_code=204)  # browsers ask for one; there is none to serve

    async def failed(request: Request, error: Exception) -> Response:
        status = 404 if isinstance(error, NotFound) else 409 if isinstance(error, StoreBusy) else 403 if isinstance(error, Refused) else 400
        if request.url.path.startswith("/api/"):  # a script reads the error as it reads the figures
            return JSONResponse({"error": str(error), "status": status}, status_code=status)
        return render(request, "error.html", status=status, message=str(error))

    routes = [
        Route("/", portfolio), Route("/api/portfolio", portfolio_api), Route("/accounts", find),
        Route("/accounts/{account_id:path}", account), Route("/api/accounts/{account_id:path}", account_api),
        Route("/feedback", judge, methods=["POST"]), Route("/review", review, methods=["POST"]), Route("/whoami", whoami, methods=["POST"]),
        Route("/assets/base.css", base_css), Route("/favicon.ico", no_icon), Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    return Starlette(routes=routes, middleware=[Middleware(Guard, token=token, allowed_hosts=allowed_hosts)],
                     exception_handlers={UndertowError: failed})


class Refused(UndertowError):
    """A POST without this workspace's form key: from a stale page, or from another site."""


def path_segment(value) -> str:
    """An id as one URL path segment. quote() leaves dots alone, and a browser resolves an id
    '.' or '..' as the folder itself or its parent, so those are spelled %2E."""
    segment = quote(str(value), safe="")
    return segment.replace(".", "%2E") if segment in (".", "..") else segment


def _back(form: dict, saved: str) -> str:
    """Where a form returns to: a path on this site only, never a URL someone put in the form."""
    back = form.get("back", "/")
    if not back.startswith("/") or back.startswith("//"):
        back = "/"
    path, _, query = back.partition("?")
    kept = [part for part in query.split("&") if part and not part.startswith("saved=")]
    return f"{path}?{'&'.join([*kept, f'saved={saved}'])}"


def _int(value: str | None, default: int) -> int:
    return int(value) if value and value.isdigit() else default


