"""The administration page in Chromium, as administrators use it: users (create, reset a
password, disable), groups, roles, permissions, levels, the category tree, catalogue fields and
the audit log; low-rights administrators see only their sections; both languages, phone width,
axe-core with every section open."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

from playwright.sync_api import expect

from openwan.web import i18n
from tests.web.conftest import PHONE, axe_violations, no_horizontal_scroll, sign_in

WEB = Path(i18n.__file__).parent
SECTIONS = ["users", "groups", "roles", "permissions", "levels", "categories", "fields", "audit"]
PASSWORD = "Night-Shift-Archive-77"


def call(page, method: str, path: str, body=None):
    """The JSON API from inside the signed-in page (its cookie session and CSRF header)."""
    result = page.evaluate("""async ([method, path, body]) => {
        const csrf = document.cookie.split('; ').find((c) => c.startsWith('openwan_csrf='));
        const headers = { 'X-CSRF-Token': decodeURIComponent((csrf || '=').split('=')[1]) };
        const init = { method, headers };
        if (body !== null) {
            headers['Content-Type'] = 'application/json';
            init.body = JSON.stringify(body);
        }
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
    scripts = WEB / "static" / "js"
    for script in [scripts / "admin.js", *(scripts / "admin").glob("*.js")]:
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


def row(section, text: str):
    return section.locator("tbody tr", has=section.page.locator("th", has_text=text)).first


def test_users_create_reset_password_and_disable(signed_in, contexts, live_server):
    page = admin_page(signed_in)
    users = open_section(page, "users")
    users.get_by_role("button", name="New user").click()
    box = dialog(page)
    expect(box.get_by_label("Username")).to_be_focused()
    box.get_by_label("Username").fill("clerk")
    box.get_by_label("Password").fill("short")
    box.get_by_label("Display name").fill("Night clerk 夜班")
    box.get_by_label("Clearance level").select_option(label="秘密 (3)")
    box.get_by_role("checkbox", name="administrators").check()
    box.get_by_role("checkbox", name="administrators").uncheck()
    box.get_by_role("checkbox", name="NORMAL").check()
    save(page)
    # The password rule is shown beside the password, translated; the dialog stays open.
    expect(box.locator(".field-error:not([hidden])")).to_contain_text("At least 12 characters")
    expect(box.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    box.get_by_label("Password").fill("Temporary-Pass-2024")
    save(page)
    wait_closed(page)
    expect(row(users, "clerk")).to_contain_text("Night clerk 夜班")
    expect(row(users, "clerk")).to_contain_text("秘密 (3)")
    # A second account with the same name: 409, shown beside the username.
    users.get_by_role("button", name="New user").click()
    dialog(page).get_by_label("Username").fill("CLERK")
    dialog(page).get_by_label("Password").fill("Another-Pass-2024")
    save(page)
    expect(dialog(page).locator(".field-error:not([hidden])")).to_have_text(
        "This name is already taken")
    dialog(page).get_by_role("button", name="Cancel").click()
    wait_closed(page)
    expect(users.get_by_role("button", name="New user")).to_be_focused()

    # Edit: display name, level, enabled stays.
    row(users, "clerk").get_by_role("button", name="Edit clerk").click()
    dialog(page).get_by_label("Display name").fill("Archive clerk")
    dialog(page).get_by_label("Clearance level").select_option(label="私有 (2)")
    save(page)
    wait_closed(page)
    # The list was redrawn: focus is on the same row's button again.
    expect(row(users, "clerk").get_by_role("button", name="Edit clerk")).to_be_focused()
    status, body = call(page, "GET", "/api/v1/users?q=clerk")
    clerk = body["items"][0]
    assert (clerk["display_name"], clerk["level"], clerk["roles"]) == ("Archive clerk", 2,
                                                                       ["NORMAL"])

    # Reset the password; the user signs in with it in another browser.
    row(users, "clerk").get_by_role("button", name="Reset password clerk").click()
    dialog(page).get_by_label("New password", exact=True).fill(PASSWORD)
    dialog(page).get_by_label("New password again").fill(PASSWORD + "x")
    save(page)
    expect(dialog(page).locator(".field-error:not([hidden])")).to_have_text(
        "The two passwords differ")
    dialog(page).get_by_role("button", name="Generate a password").click()
    generated = dialog(page).get_by_label("New password", exact=True).input_value()
    assert len(generated) == 20
    expect(dialog(page).get_by_label("New password again")).to_have_value(generated)
    dialog(page).get_by_label("New password", exact=True).fill(PASSWORD)
    dialog(page).get_by_label("New password again").fill(PASSWORD)
    save(page)
    wait_closed(page)
    other = contexts().new_page()
    sign_in(other, live_server.url, "clerk", PASSWORD)
    expect(other.locator("header .who")).to_contain_text("Archive clerk")

    # Disable: the account's sessions end and signing in is refused.
    row(users, "clerk").get_by_role("button", name="Disable clerk").click()
    expect(row(users, "clerk")).to_contain_text("Disabled")
    assert other.goto(live_server.url + "/search").url.startswith(live_server.url + "/login")
    other.fill("input[name=username]", "clerk")
    other.fill("input[name=password]", PASSWORD)
    other.click("#login-form button[type=submit]")
    expect(other.locator("#login-form")).to_be_visible()
    assert "/login" in other.url
    # Only the disabled accounts, then the members of a group.
    users.get_by_label("Status").select_option(label="Disabled")
    users.get_by_role("button", name="Search").click()
    expect(users.locator("tbody tr")).to_have_count(1)
    expect(users.locator("tbody tr th")).to_have_text("clerk")
    users.get_by_label("Status").select_option(label="Any")
    users.get_by_label("Group").select_option(label="administrators")
    users.get_by_role("button", name="Search").click()
    expect(users.locator("tbody tr th")).to_have_text(["admin"])
    assert page.errors == []


def test_roles_groups_permissions_and_levels(signed_in, live_server, settings):
    from openwan.catalog import categories
    from openwan.db import unit_of_work

    with unit_of_work(settings) as session:
        news = categories.create(session, "News 新闻")
        city = categories.create(session, "City 城市", news.id)
        categories.create(session, "Sport 体育")
        news_id, city_id = news.id, city.id
    page = admin_page(signed_in)

    # A custom permission, then a role holding it and two built-in ones.
    permissions = open_section(page, "permissions")
    permissions.get_by_role("button", name="New permission").click()
    dialog(page).get_by_label("Name").fill("Report Export")
    save(page)
    expect(dialog(page).locator(".field-error:not([hidden])")).to_contain_text("area.action")
    dialog(page).get_by_label("Name").fill("report.export")
    dialog(page).get_by_label("Description").fill("Export reports")
    save(page)
    wait_closed(page)
    expect(row(permissions, "report.export")).to_contain_text("Export reports")

    roles = open_section(page, "roles")
    roles.get_by_role("button", name="New role").click()
    box = dialog(page)
    box.get_by_label("Name").fill("NIGHTDESK")
    box.get_by_label("Description").fill("Night desk")
    for name in ("asset.catalog", "asset.download", "report.export"):
        box.get_by_role("checkbox", name=re.compile("^" + re.escape(name))).check()
    save(page)
    wait_closed(page)
    expect(row(roles, "NIGHTDESK")).to_contain_text("report.export")
    # A duplicate name is refused beside the name (409).
    roles.get_by_role("button", name="New role").click()
    dialog(page).get_by_label("Name").fill("editor")
    save(page)
    expect(dialog(page).locator(".field-error:not([hidden])")).to_have_text(
        "This name is already taken")
    dialog(page).get_by_role("button", name="Cancel").click()

    # A group bound to a chosen category (its subtree included) with the role.
    groups = open_section(page, "groups")
    groups.get_by_role("button", name="New group").click()
    box = dialog(page)
    box.get_by_label("Name", exact=True).fill("Night desk")
    box.get_by_role("checkbox", name=re.compile("^NIGHTDESK")).check()
    box.get_by_role("radio", name="Chosen categories").check()
    box.get_by_role("checkbox", name="News 新闻").check()
    save(page)
    wait_closed(page)
    expect(row(groups, "Night desk")).to_contain_text("News 新闻")
    status, listed = call(page, "GET", "/api/v1/groups")
    group = next(g for g in listed["items"] if g["name"] == "Night desk")
    assert (group["roles"], group["categories"]) == (["NIGHTDESK"], [news_id])
    # Rebound to every category.
    row(groups, "Night desk").get_by_role("button", name="Edit Night desk").click()
    dialog(page).get_by_role("radio", name="All categories").check()
    save(page)
    wait_closed(page)
    expect(row(groups, "Night desk")).to_contain_text("All categories")
    assert call(page, "GET", f"/api/v1/groups/{group['id']}")[1]["categories"] == "all"
    assert city_id

    # A level: renamed, re-described, disabled; names shown as the API gives them.
    levels = open_section(page, "levels")
    row(levels, "2").get_by_role("button", name="Edit 私有").click()
    box = dialog(page)
    expect(box.get_by_label("Clearance level")).to_have_attribute("readonly", "")
    box.get_by_label("Name").fill("内部")
    box.get_by_label("Description").fill("Internal")
    box.get_by_label("Enabled").uncheck()
    save(page)
    wait_closed(page)
    expect(row(levels, "2")).to_contain_text("内部")
    level = call(page, "GET", "/api/v1/levels/2")[1]
    assert (level["name"], level["description"], level["enabled"]) == ("内部", "Internal", False)
    # A new level: its number must be free.
    levels.get_by_role("button", name="New level").click()
    dialog(page).get_by_label("Clearance level").fill("2")
    dialog(page).get_by_label("Name").fill("内部二")
    save(page)
    expect(dialog(page).locator(".field-error:not([hidden])")).to_have_text(
        "A level with this number already exists")
    dialog(page).get_by_label("Clearance level").fill("6")
    save(page)
    wait_closed(page)
    expect(row(levels, "6")).to_contain_text("内部二")
    # Deleting a level in use is refused with the API's reason, translated.
    row(levels, "5").get_by_role("button", name="Delete 绝密").click()  # the admin holds it
    save(page)
    expect(dialog(page).locator(".dialog-error")).to_have_text(
        "This conflicts with existing data")
    dialog(page).get_by_role("button", name="Cancel").click()
    wait_closed(page)

    # The whole page in English with every section open: one h1, an h2 each, axe clean.
    for name in SECTIONS:
        open_section(page, name)
    assert page.locator("h1").count() == 1
    assert [h.strip() for h in page.locator("section h2").all_inner_texts()] == [
        "Users", "Groups", "Roles", "Permissions", "Levels", "Categories", "Catalogue fields",
        "Audit log"]
    assert axe_violations(page) == []
    assert page.errors == []


def test_category_tree_and_catalogue_fields_are_edited_and_audited(signed_in, live_server,
                                                                   settings):
    from tests.search.helpers import make_asset

    page = admin_page(signed_in)
    tree = open_section(page, "categories")
    for name in ("News", "Sport"):
        tree.get_by_role("button", name="New category").click()
        dialog(page).get_by_label("Name").fill(name)
        save(page)
        wait_closed(page)
    row(tree, "News").get_by_role("button", name="Add below News").click()
    expect(dialog(page).get_by_label("Parent category")).to_have_value(
        str(call(page, "GET", "/api/v1/categories")[1]["items"][0]["id"]))
    dialog(page).get_by_label("Name").fill("City")
    save(page)
    wait_closed(page)
    flat = {c["name"]: c for c in call(page, "GET", "/api/v1/categories?flat=true")[1]["items"]}
    assert flat["City"]["parent_id"] == flat["News"]["id"]
    # A sibling with the same name is refused beside the name.
    row(tree, "News").get_by_role("button", name="Add below News").click()
    dialog(page).get_by_label("Name").fill("City")
    save(page)
    expect(dialog(page).locator(".field-error:not([hidden])")).to_have_text(
        "This name is already taken")
    dialog(page).get_by_role("button", name="Cancel").click()

    # Rename, move under Sport, re-weight, disable: one dialog.
    row(tree, "City").get_by_role("button", name="Edit City").click()
    box = dialog(page)
    box.get_by_label("Name").fill("Metro 都市")
    box.get_by_label("Parent category").select_option(label="Sport")
    box.get_by_label("Weight").fill("5")
    box.get_by_label("Enabled").uncheck()
    save(page)
    wait_closed(page)
    metro = call(page, "GET", f"/api/v1/categories/{flat['City']['id']}")[1]
    assert (metro["name"], metro["parent_id"], metro["weight"], metro["enabled"]) == (
        "Metro 都市", flat["Sport"]["id"], 5, False)
    expect(row(tree, "Metro 都市")).to_contain_text("Disabled")
    # Its own subtree is never offered as a new parent.
    row(tree, "Sport").get_by_role("button", name="Edit Sport").click()
    options = dialog(page).get_by_label("Parent category").locator("option").all_inner_texts()
    assert [o.strip() for o in options] == ["(top level)", "News"]
    dialog(page).get_by_role("button", name="Cancel").click()

    # Delete with assets: refused beside "move to" until a target is chosen.
    asset = make_asset(settings, "Harbour at night", category_id=metro["id"])
    row(tree, "Metro 都市").get_by_role("button", name="Delete Metro 都市").click()
    save(page)
    expect(dialog(page).locator(".field-error:not([hidden])")).to_have_text(
        "“Metro 都市” holds 1 assets: choose where they go")
    dialog(page).get_by_label("Move its assets to").select_option(label="News")
    save(page)
    wait_closed(page)
    expect(tree.locator("tbody th", has_text="Metro")).to_have_count(0)
    assert call(page, "GET", f"/api/v1/assets/{asset}")[1]["category_id"] == flat["News"]["id"]

    # Catalogue fields of audio: a group and a field of every kind.
    fields = open_section(page, "fields")
    fields.get_by_label("Media type").select_option("audio")
    fields.get_by_role("button", name="New field group").click()
    dialog(page).get_by_label("Key").fill("rights")
    dialog(page).get_by_label("Chinese name").fill("版权")
    dialog(page).get_by_label("English name").fill("Rights")
    save(page)
    wait_closed(page)
    group = fields.locator(".field-group[data-group=rights]")
    kinds = {"text": "Text", "longtext": "Long text", "number": "Number", "date": "Date",
             "choice": "Choice", "multichoice": "Multiple choice"}
    for kind, label in kinds.items():
        group.get_by_role("button", name="New field: Rights").click()
        box = dialog(page)
        box.get_by_label("Key").fill(f"f_{kind}")
        box.get_by_label("Kind").select_option(label=label)
        box.get_by_label("Chinese name").fill(f"字段{kind}")
        box.get_by_label("English name").fill(f"Field {kind}")
        if kind in ("choice", "multichoice"):
            box.get_by_label("Choices").fill("公开\n内部\n")
        else:
            expect(box.get_by_label("Choices")).to_be_hidden()
        if kind == "date":
            box.get_by_label("Required").check()
        save(page)
        wait_closed(page)
    # A key already taken in the group: 409 beside the key.
    group.get_by_role("button", name="New field: Rights").click()
    dialog(page).get_by_label("Key").fill("f_text")
    dialog(page).get_by_label("Chinese name").fill("重复")
    save(page)
    expect(dialog(page).locator(".field-error:not([hidden])")).to_have_text(
        "This name is already taken")
    dialog(page).get_by_role("button", name="Cancel").click()
    schema = call(page, "GET", "/api/v1/catalog-fields?type=audio")[1]["items"]
    rights = next(g for g in schema if g["key"] == "rights")
    got = {f["key"]: (f["kind"], f["name_en"], f["required"], f["choices"])
           for f in rights["fields"]}
    assert got == {f"f_{k}": (k, f"Field {k}", k == "date",
                              ["公开", "内部"] if "choice" in k else []) for k in kinds}
    # Edit a field (rename, more choices), disable one, delete an unused one.
    row(group, "Field choice").get_by_role("button", name="Edit Field choice").click()
    expect(dialog(page).get_by_label("Key")).to_have_attribute("readonly", "")
    dialog(page).get_by_label("English name").fill("Access")
    dialog(page).get_by_label("Choices").fill("公开\n内部\n机密")
    save(page)
    wait_closed(page)
    row(group, "Field number").get_by_role("button", name="Disable Field number").click()
    expect(row(group, "Field number")).to_contain_text("Disabled")
    row(group, "Field longtext").get_by_role("button", name="Delete Field longtext").click()
    save(page)
    wait_closed(page)
    expect(group.locator("tbody th", has_text="Field longtext")).to_have_count(0)
    # Deleting a group that still has fields says so beside the archive choice.
    group.get_by_role("button", name="Delete Rights").click()
    save(page)
    expect(dialog(page).locator(".field-error:not([hidden])")).to_contain_text(
        "still has fields")
    dialog(page).get_by_role("button", name="Cancel").click()

    # The audit log shows these changes, filtered by who, action and date.
    audit = open_section(page, "audit")
    audit.get_by_label("Who").fill("admin")
    audit.get_by_label("Action").select_option(label="Category · Any")
    today = date.today()
    audit.get_by_label("From").fill(today.isoformat())
    audit.get_by_label("To").fill(today.isoformat())
    audit.get_by_role("button", name="Filter").click()
    listed = audit.locator("tbody tr")
    expect(listed).to_have_count(5)  # 3 created, 1 changed (one dialog), 1 deleted
    assert set(audit.locator("tbody tr").evaluate_all(
        "rows => rows.map((r) => r.dataset.action)")) == {
        "category.create", "category.update", "category.delete"}
    expect(listed.first).to_contain_text("Category · deleted")
    listed.first.locator("summary").click()
    expect(listed.first.locator("pre")).to_contain_text('"moved_assets": 1')
    audit.get_by_label("Action").select_option(label="Catalogue field · changed")
    audit.get_by_role("button", name="Filter").click()
    expect(listed).to_have_count(2)
    audit.get_by_label("Action").select_option(label="Catalogue field · Any")
    audit.get_by_label("Object", exact=True).select_option(label="Catalogue field")
    audit.get_by_role("button", name="Filter").click()
    expect(listed).to_have_count(10)  # group + 6 fields, 2 changes, 1 deletion
    audit.get_by_label("From").fill((today + timedelta(days=1)).isoformat())
    audit.get_by_label("To").fill((today + timedelta(days=1)).isoformat())
    audit.get_by_role("button", name="Filter").click()
    expect(listed).to_have_text(["Nothing here yet"])
    audit.get_by_label("From").fill("")
    audit.get_by_label("To").fill("")
    audit.get_by_label("Who").fill("somebody-else")
    audit.get_by_role("button", name="Filter").click()
    expect(listed).to_have_text(["Nothing here yet"])
    # One asset's history, linked to its page.
    assert call(page, "PATCH", f"/api/v1/assets/{asset}", {"title": "Harbour, 1998"})[0] == 200
    audit.get_by_role("button", name="Clear").click()
    audit.get_by_label("Object", exact=True).select_option(label="Asset")
    audit.get_by_label("Object ID").fill(str(asset))
    audit.get_by_role("button", name="Filter").click()
    expect(listed).to_have_count(1)
    expect(listed.first).to_contain_text("Asset · changed")
    expect(listed.first.get_by_role("link")).to_have_attribute("href", f"/assets/{asset}")
    assert page.errors == []


def test_low_rights_administrators_see_only_their_sections(contexts, live_server, settings,
                                                            admin):
    low_rights_admin(settings, admin, "auditor", ["audit.read"])
    low_rights_admin(settings, admin, "librarian", ["admin.categories"])
    auditor = contexts().new_page()
    sign_in(auditor, live_server.url, "auditor", PASSWORD, next="/admin")
    assert auditor.locator("section h2").all_inner_texts() == ["Audit log"]
    assert auditor.locator(".admin-toc").count() == 0
    audit = open_section(auditor, "audit")
    expect(audit.locator("tbody tr").first).to_be_visible()
    # The server refuses the rest anyway.
    assert call(auditor, "GET", "/api/v1/users")[0] == 403
    assert call(auditor, "POST", "/api/v1/categories", {"name": "x"})[0] == 403

    librarian = contexts(lang="zh").new_page()
    sign_in(librarian, live_server.url, "librarian", PASSWORD, lang="zh", next="/admin")
    assert [h.strip() for h in librarian.locator("section h2").all_inner_texts()] == ["分类"]
    tree = open_section(librarian, "categories")
    tree.get_by_role("button", name="新建分类").click()
    dialog(librarian).get_by_label("名称").fill("纪录片")
    dialog(librarian).locator("button[type=submit]").click()
    wait_closed(librarian)
    expect(row(tree, "纪录片")).to_contain_text("已启用")
    assert call(librarian, "GET", "/api/v1/audit")[0] == 403
    assert call(librarian, "GET", "/api/v1/groups")[0] == 403


def test_every_section_in_chinese_at_phone_width_passes_axe(signed_in, live_server):
    page = admin_page(signed_in, lang="zh", viewport=PHONE)
    for name in SECTIONS:
        open_section(page, name)
    assert no_horizontal_scroll(page)
    assert page.locator("h1").count() == 1
    assert [h.strip() for h in page.locator("section h2").all_inner_texts()] == [
        "用户", "用户组", "角色", "权限", "密级", "分类", "编目字段", "审计日志"]
    # No English left in what the page built (data such as role descriptions come from the
    # database as they were written).
    headers = " ".join(page.locator("main thead th").all_inner_texts())
    assert not re.search("[A-Za-z]{3}", headers.replace("IP", "")), headers
    buttons = " ".join(page.locator("main button").all_inner_texts())
    assert not re.search("[A-Za-z]{3}", buttons), buttons
    # An open dialog over every open section: focus inside, axe clean, no sideways scroll;
    # Escape closes it and gives focus back to its opener.
    opener = page.locator("section#users .toolbar button.primary")
    opener.click()
    box = dialog(page)
    expect(box).to_be_visible()
    assert box.evaluate("(d) => d.contains(document.activeElement)")
    assert axe_violations(page) == []
    assert no_horizontal_scroll(page)
    page.keyboard.press("Escape")
    wait_closed(page)
    expect(opener).to_be_focused()
    assert page.errors == []
