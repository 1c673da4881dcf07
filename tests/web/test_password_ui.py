"""Choosing a new password in the browser: by choice, and first of all for an imported
account whose password was its own name."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.legacy.test_import import DUMP, NEW_PASSWORD, import_legacy
from tests.web.conftest import axe_violations


def test_an_imported_account_must_choose_a_new_password_first(contexts, live_server, settings,
                                                               admin):
    import_legacy(settings, "--sql-dump", str(DUMP))
    base = live_server.url
    page = contexts(lang="zh").new_page()
    page.goto(f"{base}/login?lang=zh&next=/review")
    page.fill("input[name=username]", "yc75")
    page.fill("input[name=password]", "yc75")
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{base}/password?next=/review")
    expect(page.locator("#password-required")).to_be_visible()
    # Every other page leads back here until the password is changed.
    page.goto(f"{base}/search")
    page.wait_for_url(f"{base}/password?next=/search")
    assert page.evaluate("async () => (await fetch('/api/v1/assets')).status") == 403
    assert axe_violations(page) == []

    page.fill("#current_password", "wrong-one")
    page.fill("#new_password", NEW_PASSWORD)
    page.fill("#repeat_password", NEW_PASSWORD)
    page.click("#password-form button[type=submit]")
    expect(page.locator("#current_password-error")).to_have_text("密码错误")
    page.fill("#current_password", "yc75")
    page.fill("#repeat_password", NEW_PASSWORD + "x")
    page.click("#password-form button[type=submit]")
    expect(page.locator("#repeat_password-error")).to_have_text("两次输入的新密码不一致")
    assert page.locator("#current_password-error").inner_text() == ""
    page.fill("#new_password", "short")
    page.fill("#repeat_password", "short")
    page.click("#password-form button[type=submit]")
    expect(page.locator("#new_password-error")).to_contain_text("输入的内容不符合要求")

    page.fill("#new_password", NEW_PASSWORD)
    page.fill("#repeat_password", NEW_PASSWORD)
    page.click("#password-form button[type=submit]")
    page.wait_for_url(f"{base}/search")
    page.reload()  # the browser's fresh login session is live
    assert page.url == f"{base}/search"
    assert page.evaluate("async () => (await fetch('/api/v1/assets')).status") == 200


def test_anyone_changes_their_password_from_the_header(signed_in, live_server):
    page = signed_in()
    page.click("header a.who")
    page.wait_for_url(f"{live_server.url}/password")
    assert page.locator("#password-required").count() == 0
    assert page.title().startswith("Change password")
