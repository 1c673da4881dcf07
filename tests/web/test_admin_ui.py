"""The administration page in Chromium, as administrators use it: users (create, reset a
password, disable), groups, roles, permissions, levels, the category tree, catalogue fields and
the audit log; low-rights administrators see only their sections; both languages, phone width,
axe-core with every section open."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from openwan.web import i18n
from tests.web.conftest import PHONE, axe_violations, no_horizontal_scroll, sign_in

WEB = Path(i18n.__file__).parent
SECTIONS = ["users", "groups", "roles", "permissions", "levels", "categories", "fields", "audit"]
PASSWORD = "Night-Shift-Archive-77"


def call(page, method: str, path: str, body=None):
    """The JSON API from inside the signed-in page (its cookie session and CSRF header)."""
    result = page.evaluate("""async ([method, path, body]) => {
        const csrf = (document.cookie.split('; ').find((c) => c.startsWith('openwan_csrf=')) || '=').split('=')[1];
        const init = { method, headers: { 'X-CSRF-Token': decodeURIComponent(csrf) } };
        if (body !== null) { init.headers['Content-Type'] = 'application/json'; init.body = JSON.stringify(body); }
        const response = await fetch(path, init);
        const text = await response.text();
        return [response.status, text];
    }""", [method, path, body])
    status, text = result
    return status, (json.loads(text) if text else None)


def open_section(page, name: str):
    section = page.locator(f"section#{name}")
    toggle = section.locator("h2 button")
    if toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
    page.locator(f"section#{name}[data-loaded=yes]").wait_for()
    return section


def dialog(page):
    return page.locator("dialog[open]")


def save(page, label: str = "Save"):
    dialog(page).locator("button[type=submit]").click()


def wait_closed(page):
    expect(page.locator("dialog[open]")).to_have_count(0)


def admin_page(signed_in, **kw):
    page = signed_in(next="/admin", **kw)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    return page


def low_rights_admin(settings, admin, username: str, permissions: list[str]) -> None:
    """An account whose only rights are ``permissions`` (a role of them, through a group)."""
    from openwan.access import rights, service
    from openwan.db import unit_of_work
    from openwan.models import User

    with unit_of_work(settings) as session:
        actor = session.get(User, admin.id)
        rights.create_role(session, actor, name=f"R-{username}", permissions=permissions)
        group = rights.create_group(session, actor, name=f"G-{username}", roles=[f"R-{username}"],
                                    categories="all")
        session.flush()
        service.create_user(session, username, PASSWORD, level=1, groups=[group.id])


def test_every_admin_string_is_translated():
    used = set()
    for script in [WEB / "static" / "js" / "admin.js", *(WEB / "static" / "js" / "admin").glob("*.js")]:
        used |= set(re.findall(r"\bt\(\"([^\"]+)\"\s*[,)]", script.read_text()))
    used |= set(re.findall(r"\bt\[\"([^\"]+)\"\]", (WEB / "templates" / "admin.html").read_text()))
    # Keys built at run time: field kinds, audit objects and verbs, built-in permissions.
    from openwan.access.permissions import BUILTIN
    from openwan.models import FieldKind

    used |= {f"adm.kind_{k}" for k in FieldKind} | {f"perm.{p}" for p in BUILTIN}
    used |= {f"adm.obj_{o}" for o in ("asset", "user", "group", "role", "permission", "level",
                                      "category", "catalog_field", "api_token", "auth", "token")}
    used |= {f"adm.verb_{v}" for v in ("create", "update", "delete", "archive", "login", "logout",
                                       "upload", "download", "approve", "reject", "submit",
                                       "restore", "rights", "profile", "password_change")}
    assert len(used) > 150
    assert sorted(used - set(i18n.STRINGS)) == []


def test_admin_page_with_every_section_open(signed_in, live_server):
    page = admin_page(signed_in)
    assert page.locator("h1").count() == 1
    assert [h.strip() for h in page.locator("section h2").all_inner_texts()] == [
        "Users", "Groups", "Roles", "Permissions", "Levels", "Categories", "Catalogue fields",
        "Audit log"]
    for name in SECTIONS:
        open_section(page, name)
    assert page.errors == []
    assert axe_violations(page) == []


def test_zz_screens(signed_in, live_server):
    page = admin_page(signed_in)
    for name in SECTIONS:
        open_section(page, name)
    page.screenshot(path="/tmp/adm-full.png", full_page=True)
    page.locator("section#users button", has_text="New user").click()
    page.screenshot(path="/tmp/adm-dialog.png")
    page2 = admin_page(signed_in, viewport=PHONE, lang="zh")
    for name in SECTIONS:
        open_section(page2, name)
    page2.screenshot(path="/tmp/adm-phone.png", full_page=True)
    assert no_horizontal_scroll(page2)
