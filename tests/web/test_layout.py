"""What every page shares: titles, landmarks, navigation by rights, languages, phone width,
accessibility (axe-core), the not-found page, and complete translations."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from openwan.models.asset import AssetStatus, MediaState
from openwan.web import i18n
from tests.web.conftest import PHONE, VIEWER_PASSWORD, axe_violations, no_horizontal_scroll

WEB = Path(i18n.__file__).parent
PAGES = ["/search", "/upload", "/review", "/bin", "/admin"]


def test_every_template_string_and_error_code_is_translated():
    used = set()
    for template in (WEB / "templates").glob("*.html"):
        used |= set(re.findall(r"\bt\.([a-z_][a-z0-9_]*)", template.read_text()))
        used |= set(re.findall(r"\bt\[\"([^\"]+)\"\]", template.read_text()))
    for script in (WEB / "static" / "js").rglob("*.js"):
        text = script.read_text()
        used |= set(re.findall(r"\bT\.([a-z_][a-z0-9_]*)", text))
        used |= set(re.findall(r"\bt\(\"([^\"]+)\"\s*[,)]", text))
        used |= set(re.findall(r"\bT\[\"([^\"]+)\"\]", text))
    # The vocabulary the API answers with, shown through statusLabel, mediaLabel, typeLabel.
    used |= {f"status.{s}" for s in AssetStatus} | {f"media.{s}" for s in MediaState}
    used |= {"video", "audio", "image", "document"}
    assert used - set(i18n.STRINGS) == set(), "strings used but not translated"

    package = WEB.parent
    codes = set()
    for source in package.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        codes |= set(re.findall(r"\bcode=\"([a-z_]+)\"", text))
        codes |= set(re.findall(r"\bcode = \"([a-z_]+)\"", text))
        codes |= set(re.findall(r"status, code = \d+, \"([a-z_]+)\"", text))
        codes |= set(re.findall(r"\"code\": \"([a-z_]+)\"", text))
        codes |= set(re.findall(r"_error\(\d+, \"([a-z_]+)\"", text))
        for table in re.findall(r"codes = \{([^}]*)\}", text):
            codes |= set(re.findall(r"\d{3}: \"([a-z_]+)\"", table))
    assert len(codes) > 15, codes
    missing = sorted(c for c in codes if f"error.{c}" not in i18n.STRINGS)
    assert missing == [], f"API error codes without a translation: {missing}"
    for lang in i18n.LANGUAGES:
        table = i18n.strings(lang)
        assert all(table.values()), lang
    # Chinese strings are Chinese: no English sentence left untranslated.
    same = [k for k, v in i18n.STRINGS.items()
            if v["zh"] == v["en"] and re.search("[a-z]{4}", v["en"])]
    assert same == [], same


def test_pages_have_a_title_one_h1_and_pass_axe(signed_in, live_server):
    page = signed_in()
    titles = set()
    for path in PAGES:
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        assert page.locator("h1").count() == 1, path
        title = page.title()
        assert title.endswith("OpenWan") and title not in titles, (path, title)
        titles.add(title)
        current = page.locator("header nav a[aria-current=page]")
        assert current.count() == 1 and current.get_attribute("href") == path
        assert axe_violations(page) == [], path


def test_login_and_not_found_pages_pass_axe(contexts, live_server, admin):
    page = contexts(lang="zh").new_page()
    page.goto(live_server.url + "/login?lang=zh")
    assert axe_violations(page) == []
    assert page.locator("html").get_attribute("lang") == "zh-CN"


def test_a_low_rights_user_sees_only_what_they_may_do(signed_in, live_server, viewer):
    page = signed_in(username="viewer", password=VIEWER_PASSWORD)
    assert page.locator("header nav a").all_inner_texts() == ["Search"]
    for path in ["/upload", "/review", "/bin", "/admin"]:
        response = page.goto(live_server.url + path)
        assert response.status == 404, path
        assert page.locator("h1").inner_text() == "Page or asset not found"


def test_unknown_pages_get_the_not_found_page_and_the_api_json(signed_in, live_server):
    page = signed_in()
    response = page.goto(live_server.url + "/no/such/page")
    assert response.status == 404
    assert page.locator("h1").inner_text() == "Page or asset not found"
    api = page.evaluate("async () => (await fetch('/api/v1/nothing-here')).text()")
    assert json.loads(api)["error"]["code"] == "not_found"


def test_switching_language_keeps_the_query_and_next(contexts, live_server, admin):
    page = contexts().new_page()
    page.goto(live_server.url + "/login?next=/review")
    page.click("header a.lang")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert "next=%2Freview" in page.url or "next=/review" in page.url
    assert page.locator("input[name=next]").input_value() == "/review"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_phone_width_has_no_horizontal_scroll(signed_in, live_server, lang):
    page = signed_in(lang=lang, viewport=PHONE)
    for path in PAGES:
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        assert no_horizontal_scroll(page), path
