"""The workspace in a real browser: Playwright drives Debian's Chromium (.ci/browser installs both;
nothing is downloaded here) against `undertow serve` on the demo portfolio. Screenshots go to
tests/artifacts/browser/ (or $UNDERTOW_TEST_ARTIFACTS)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from web_demo import annotate_json, build_demo, expected_figures

pytestmark = pytest.mark.slow
CHROMIUM = os.environ.get("UNDERTOW_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("UNDERTOW_TEST_ARTIFACTS") or Path(__file__).parent / "artifacts") / "browser"

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: run .ci/browser")
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM}: run .ci/browser (apt-get install chromium) or set UNDERTOW_CHROMIUM", allow_module_level=True)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from undertow.web.app import create_app
    from undertow.web.server import running

    _, workspace = build_demo(tmp_path_factory.mktemp("browser-demo"))
    with running(create_app(workspace, default_user="ci-browser", allowed_hosts=["127.0.0.1"])) as url:
        yield url, workspace


@pytest.fixture(scope="module")
def browser():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()
    print(f"\nscreenshots in {ARTIFACTS}")


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    failures: list[str] = []
    opened.on("console", lambda message: failures.append(message.text) if message.type == "error" else None)
    opened.on("requestfailed", lambda request: failures.append(f"{request.url}: {request.failure}"))
    yield opened
    context.close()
    assert failures == [], "the page reported errors (a blocked or missing script, style or request)"


def unlabelled_controls(page) -> list[str]:
    """Form controls a screen reader would announce without a name."""
    return page.evaluate("""() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
        .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.textContent.trim())
        .map(el => el.outerHTML)""")


def test_portfolio_figures_match_annotate_and_the_page_works_from_the_keyboard(served, page):
    url, workspace = served
    rows = annotate_json(workspace)["rows"]
    page.goto(url + "/")
    shown = {name: float(page.get_attribute(f'[data-figure="{name}"]', "data-value")) for name in ("accounts", "review", "arr_at_risk", "arr_total")}
    assert shown == pytest.approx(expected_figures(rows))
    first = next(r for r in rows if r["review"])
    assert page.locator("tr[data-account]").first.get_attribute("data-account") == first["account_id"]
    assert page.locator("svg[role=img]").count() >= 2 and unlabelled_controls(page) == []
    page.screenshot(path=str(ARTIFACTS / "portfolio.png"), full_page=True)

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.select_option("#filter-owner", first["csm_owner"])
    page.focus("form.filters button")
    page.keyboard.press("Enter")  # the filter form's button, pressed from the keyboard
    page.wait_for_url("**/?owner=*")
    assert float(page.get_attribute('[data-figure="accounts"]', "data-value")) == sum(1 for r in rows if r["csm_owner"] == first["csm_owner"])
    page.focus(f'tr[data-account="{first["account_id"]}"] a')
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/accounts/{first['account_id']}")
    assert float(page.get_attribute('[data-figure="health_score"]', "data-value")) == pytest.approx(first["health_score"])


def test_rejecting_a_flag_stores_the_feedback_and_the_ask_box_answers(served, page):
    url, workspace = served
    row = next(r for r in annotate_json(workspace)["rows"] if r["signals"])
    page.goto(f"{url}/accounts/{row['account_id']}")
    assert unlabelled_controls(page) == []
    flag = page.locator("article.flag").first
    quotes = {e["quote"] for f in workspace.home.records.flags(row["account_id"]) for e in f["evidence"]}
    assert flag.locator("mark").first.inner_text() in quotes  # the evidence, marked inside its document
    doc_id = flag.locator("input[name=doc_id]").get_attribute("value")
    signal = flag.locator("input[name=signal]").get_attribute("value")
    page.screenshot(path=str(ARTIFACTS / "account.png"), full_page=True)

    flag.get_by_role("button", name="Reject").click()
    page.wait_for_selector("p.saved[role=status]")
    stored = [(f["signal"], f["present"], f["author"]) for f in workspace.home.records.feedback() if f["doc_id"] == doc_id]
    assert stored == [(signal, False, "ci-browser")]
    assert page.locator(f'article.flag:has(input[name=doc_id][value="{doc_id}"]) .verdict').inner_text().startswith("Rejected by ci-browser")

    page.fill("#question", "who is leaving?")
    page.keyboard.press("Enter")
    page.wait_for_selector("#answer")
    answer = page.locator("#answer").inner_text()
    assert answer.startswith("Answer") and len(answer) > 20
    assert page.input_value("#question") == "who is leaving?"
    page.screenshot(path=str(ARTIFACTS / "account-asked.png"), full_page=True)
