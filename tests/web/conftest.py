"""The web UI in real headless Chromium (Debian's package, driven by Playwright).

Fixtures: one browser per module, a signed-in page per test (in either language, at desktop
or phone width), a low-rights second account, an axe-core check, and a screenshot of every
open page when a test fails (under ``$OPENWAN_TEST_SCREENSHOTS``, default
``var/test-screenshots``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import ADMIN_PASSWORD

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--autoplay-policy=no-user-gesture-required"]
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(os.environ.get("OPENWAN_TEST_SCREENSHOTS", "var/test-screenshots"))
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
VIEWER_PASSWORD = "Low-Rights-Reader-42"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(scope="module")
def playwright_instance():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed; the project's setup installs it (make setup)")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright_instance):
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def contexts(browser, request):
    """New browser contexts for the test; on failure each open page is photographed."""
    made = []

    def new(*, lang: str = "en", viewport: dict | None = None, **options):
        context = browser.new_context(locale="zh-CN" if lang == "zh" else "en-US",
                                      viewport=viewport or DESKTOP, **options)
        context.set_default_timeout(15_000)
        made.append(context)
        return context

    yield new
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)[-150:]
        for i, context in enumerate(made):
            for j, page in enumerate(context.pages):
                try:
                    page.screenshot(path=str(SCREENSHOTS / f"{name}-{i}-{j}.png"), full_page=True)
                except Exception as exc:  # a crashed page must not hide the test's own failure
                    print(f"screenshot of {page.url} failed: {exc}")
    for context in made:
        context.close()


def sign_in(page, base: str, username: str = "admin", password: str = ADMIN_PASSWORD,
            lang: str = "en", next: str = "/search") -> None:
    page.goto(f"{base}/login?lang={lang}&next={next}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(re.escape(base + next.split("?")[0]) + r"(\?.*)?$"))


@pytest.fixture
def signed_in(contexts, live_server, admin):
    """``signed_in(lang=..., viewport=..., username=..., password=...)`` → a signed-in page."""

    def open_page(*, lang: str = "en", viewport: dict | None = None, username: str = "admin",
                  password: str = ADMIN_PASSWORD, next: str = "/search"):
        page = contexts(lang=lang, viewport=viewport).new_page()
        sign_in(page, live_server.url, username, password, lang, next)
        return page

    return open_page


@pytest.fixture
def viewer(settings, admin):
    """A low-rights account: level 1, a group bound to one category, no upload/review/admin.

    Returns ``(user_id, group_id, category_id)``; the other category, "Hidden", is outside
    the viewer's group.
    """
    from openwan.access import rights, service
    from openwan.catalog import categories
    from openwan.db import unit_of_work
    from openwan.models import User

    with unit_of_work(settings) as session:
        actor = session.get(User, admin.id)
        open_cat = categories.create(session, "Open 公开")
        categories.create(session, "Hidden 机密")
        session.flush()
        group = rights.create_group(session, actor, name="viewers", roles=["NORMAL"],
                                    categories=[open_cat.id])
        session.flush()
        user = service.create_user(session, "viewer", VIEWER_PASSWORD, level=1,
                                   groups=[group.id])
        session.flush()
        return user.id, group.id, open_cat.id


def axe_violations(page, *, impacts=("serious", "critical")) -> list[dict]:
    """axe-core's violations of the page as it is now, at the given impacts."""
    # Evaluated through the DevTools protocol: the page's CSP allows no inline script.
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate("() => { " + AXE.read_text(encoding="utf-8") + "\n}")
    result = page.evaluate("async () => JSON.stringify((await axe.run(document)).violations)")
    found = [v for v in json.loads(result) if v.get("impact") in impacts]
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]} for v in found]


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
