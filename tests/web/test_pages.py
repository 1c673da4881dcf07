"""The web UI in real headless Chromium: sign in, upload (tus), find, open an asset."""

from playwright.sync_api import expect

from tests.conftest import ADMIN_PASSWORD
from tests.media import png_bytes


def sign_in(page, base, password=ADMIN_PASSWORD, lang="en"):
    page.goto(f"{base}/search?lang={lang}")
    assert "/login" in page.url
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", password)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{base}/search*")


def test_sign_in_upload_find_and_open(contexts, live_server, admin, tmp_path):
    base = live_server.url
    page = contexts().new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "wrong-password-xyz")
    page.click("#login-form button[type=submit]")
    assert page.locator("#login-error").is_visible()

    sign_in(page, base)
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["openwan_session"]["httpOnly"] is True
    assert cookies["openwan_csrf"]["httpOnly"] is False

    image = tmp_path / "城市夜景.png"
    image.write_bytes(png_bytes(160, 90))
    page.goto(f"{base}/upload")
    page.set_input_files("#files", str(image))
    page.locator("#queue li[data-state=ready]").wait_for()
    page.click("#start")
    page.locator("#queue li[data-state=done] a.asset-link").wait_for(timeout=15_000)
    asset_id = page.locator("#queue li").get_attribute("data-asset-id")
    assert asset_id

    page.goto(f"{base}/search")
    page.locator(f"#results li[data-id='{asset_id}']").wait_for(timeout=10_000)
    page.click(f"#results li[data-id='{asset_id}'] a")
    page.wait_for_url(f"{base}/assets/{asset_id}")
    page.locator("#asset-title").wait_for()
    assert page.locator("#asset-title").inner_text() == "城市夜景.png"
    page.locator("#preview img").wait_for(timeout=10_000)
    assert page.locator("#download").get_attribute("href") == f"/api/v1/assets/{asset_id}/original"

    # Editing through the page goes through the cookie session and its CSRF token.
    page.fill("#edit-title", "城市夜景延时摄影")
    page.click("#edit-form button[type=submit]")
    expect(page.locator("#asset-title")).to_have_text("城市夜景延时摄影")


def test_chinese_interface_and_csrf_protection(contexts, live_server, admin):
    base = live_server.url
    page = contexts(lang="zh").new_page()
    sign_in(page, base, lang="zh")
    assert page.locator("header nav a").first.inner_text() == "检索"
    # The session cookie alone cannot change anything: the CSRF header is required.
    status = page.evaluate("""async () => (await fetch('/api/v1/assets/1', {method: 'PATCH',
        headers: {'Content-Type': 'application/json'}, body: '{"title": "x"}'})).status""")
    assert status == 403
    page.click("#logout")
    page.wait_for_url(f"{base}/login*")
    page.goto(f"{base}/upload")
    assert "/login" in page.url


def test_open_redirects_are_refused(client, admin):
    response = client.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD,
                                           "next": "//evil.example/steal"},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/search"


def test_signing_out_ends_the_login_session_even_for_a_copied_cookie(client, admin):
    response = client.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD},
                           follow_redirects=False)
    assert response.status_code == 303
    copied = dict(client.cookies)
    assert client.get("/api/v1/assets").status_code == 200
    csrf = {"X-CSRF-Token": copied["openwan_csrf"]}
    assert client.post("/logout", headers=csrf, follow_redirects=False).status_code == 303
    client.cookies.clear()
    client.cookies.update(copied)  # the stolen or stale cookie is replayed
    assert client.get("/api/v1/assets").status_code == 401
    assert client.get("/api/v1/assets/1").status_code == 401
    assert "/login" in client.get("/search", follow_redirects=False).headers["location"]


def test_failed_web_sign_ins_are_throttled_and_audited(client, admin, settings):
    from sqlalchemy import select

    from openwan.db import unit_of_work
    from openwan.models import AuditEntry

    statuses = [client.post("/login", data={"username": "admin", "password": "wrong-one-x"}
                            ).status_code for _ in range(12)]
    assert statuses[0] == 401 and 429 in statuses
    with unit_of_work(settings) as session:
        failures = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "auth.login", AuditEntry.success.is_(False))).all()
    assert len(failures) >= 10
