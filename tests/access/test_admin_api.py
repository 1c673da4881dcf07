"""Administration of users, groups, roles, permissions and levels; the audit log."""

from __future__ import annotations

from openwan.db import unit_of_work
from tests.access.world import add_category, add_group, add_user, bearer
from tests.conftest import login

PW = "Plenty-Long-Secret-42"


def _user(client, auth, **body):
    body = {"password": PW, **body}
    response = client.post("/api/v1/users", headers=auth, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _ids(client, auth, path):
    return {item["name"]: item["id"] for item in client.get(path, headers=auth).json()}


def test_seeded_levels_roles_permissions_and_admin_group(client, auth):
    levels = client.get("/api/v1/levels", headers=auth).json()
    assert [(lv["id"], lv["name"]) for lv in levels] == [
        (1, "公开"), (2, "私有"), (3, "秘密"), (4, "机密"), (5, "绝密")]
    roles = {r["name"]: r for r in client.get("/api/v1/roles", headers=auth).json()}
    assert {"ADMIN", "SYSTEM", "NORMAL", "EDITOR", "CATALOGUER", "REVIEWER"} <= set(roles)
    assert len(roles["ADMIN"]["permissions"]) == 12
    assert "asset.review" in roles["REVIEWER"]["permissions"]
    names = {p["name"] for p in client.get("/api/v1/permissions", headers=auth).json()}
    assert {"asset.upload", "asset.catalog", "asset.review", "asset.download", "asset.delete",
            "admin.users", "admin.groups", "admin.roles", "admin.levels", "admin.categories",
            "admin.catalog", "audit.read"} == names
    groups = client.get("/api/v1/groups", headers=auth).json()
    assert groups["total"] == 1 and groups["items"][0]["name"] == "administrators"
    assert groups["items"][0]["categories"] == "all" and groups["items"][0]["members"] == 1


def test_user_crud_with_groups_and_roles(client, auth, settings):
    with unit_of_work(settings) as session:
        news = add_category(session, "新闻")
    group = client.post("/api/v1/groups", headers=auth, json={
        "name": "编辑部", "roles": ["EDITOR"], "categories": [news.id]})
    assert group.status_code == 201, group.text
    assert group.json()["categories"] == [news.id] and group.json()["roles"] == ["EDITOR"]
    gid = group.json()["id"]
    user = _user(client, auth, username="zhang", display_name="张伟", level=3, groups=[gid],
                 roles=["REVIEWER"], email="zhang@example.org")
    assert user["groups"] == [gid] and user["roles"] == ["REVIEWER"] and user["level"] == 3
    me = client.get("/api/v1/me", headers=login(client, "zhang", PW)).json()
    assert {"asset.upload", "asset.review", "asset.delete"} <= set(me["permissions"])
    assert me["categories"] == [news.id] and me["effective_roles"] == ["EDITOR", "REVIEWER"]
    listed = client.get("/api/v1/users", headers=auth, params={"group_id": gid}).json()
    assert listed["total"] == 1 and listed["page"] == 1 and listed["size"] == 50
    assert listed["items"][0]["username"] == "zhang"
    assert client.get("/api/v1/users", headers=auth, params={"q": "zha"}).json()["total"] == 1
    uid = user["id"]
    patched = client.patch(f"/api/v1/users/{uid}", headers=auth,
                           json={"level": 4, "groups": [], "roles": []})
    assert patched.status_code == 200
    assert patched.json()["groups"] == [] and patched.json()["level"] == 4
    assert client.get(f"/api/v1/users/{uid}", headers=auth).json()["level"] == 4
    assert client.delete(f"/api/v1/users/{uid}", headers=auth).status_code == 204
    assert client.get(f"/api/v1/users/{uid}", headers=auth).status_code == 404


def test_user_validation(client, auth):
    bad = [
        ({"username": "a", "password": "short"}, "password"),
        ({"username": "a", "password": PW, "level": 9}, "level"),
        ({"username": "a", "password": PW, "groups": [12345]}, "groups"),
        ({"username": "a", "password": PW, "roles": ["NOPE"]}, "roles"),
        ({"username": "a", "password": "a-password-with-a-inside"}, None),
    ]
    for body, field in bad:
        response = client.post("/api/v1/users", headers=auth, json=body)
        assert response.status_code == 422, body
        if field:
            assert response.json()["error"]["field"] == field, response.json()
    assert client.post("/api/v1/users", headers=auth,
                       json={"username": "a", "password": PW, "bogus": 1}).status_code == 422
    _user(client, auth, username="Dup")
    again = client.post("/api/v1/users", headers=auth, json={"username": "dup", "password": PW})
    assert again.status_code == 409


def test_admin_routes_need_their_permission(client, auth, settings):
    with unit_of_work(settings) as session:
        viewer = add_user(session, "viewer")
        system = add_user(session, "system", groups=[add_group(session, "sys", ["SYSTEM"], [])])
        viewer_h, system_h = bearer(session, settings, viewer), bearer(session, settings, system)
    routes = [("get", "/api/v1/users"), ("post", "/api/v1/users"), ("get", "/api/v1/groups"),
              ("post", "/api/v1/groups"), ("get", "/api/v1/roles"), ("post", "/api/v1/roles"),
              ("get", "/api/v1/permissions"), ("post", "/api/v1/levels"),
              ("patch", "/api/v1/levels/1"), ("get", "/api/v1/audit")]
    for method, path in routes:
        response = client.request(method, path, headers=viewer_h, json={})
        assert response.status_code == 403, (method, path)
        assert response.json()["error"]["code"] == "permission_denied"
    assert client.get("/api/v1/users", headers=system_h).status_code == 200
    assert client.get("/api/v1/audit", headers=system_h).status_code == 200
    assert client.get("/api/v1/levels", headers=viewer_h).status_code == 200  # readable to all


def test_no_one_grants_more_than_they_hold(client, auth, settings):
    accounts = client.post("/api/v1/roles", headers=auth, json={
        "name": "ACCOUNTS", "permissions": ["admin.users"]}).json()
    assert accounts["permissions"] == ["admin.users"]
    with unit_of_work(settings) as session:
        manager = add_user(session, "manager", level=3, roles=["ACCOUNTS"])
        h = bearer(session, settings, manager)
    ids = _ids(client, auth, "/api/v1/roles")
    admin_group = client.get("/api/v1/groups", headers=auth).json()["items"][0]["id"]
    attempts = [
        {"username": "x1", "is_admin": True},
        {"username": "x2", "groups": [admin_group]},
        {"username": "x3", "roles": ["ADMIN"]},
        {"username": "x4", "roles": ["SYSTEM"]},  # admin.groups etc.: the manager lacks them
        {"username": "x5", "level": 5},  # above the manager's own clearance
    ]
    for body in attempts:
        response = client.post("/api/v1/users", headers=h, json={"password": PW, **body})
        assert response.status_code == 403, body
    # Asset rights are what account managers hand out every day.
    assert client.post("/api/v1/users", headers=h, json={
        "username": "ok", "password": PW, "roles": ["REVIEWER", "EDITOR"],
        "level": 2}).status_code == 201
    with unit_of_work(settings) as session:
        system = add_user(session, "system", level=3,
                          groups=[add_group(session, "sys", ["SYSTEM"], [])])
        h = bearer(session, settings, system)
    # Nor take over an administrator's account, nor build an admin group.
    admin_id = client.get("/api/v1/users", headers=auth, params={"q": "admin"}).json()
    admin_id = admin_id["items"][0]["id"]
    assert client.patch(f"/api/v1/users/{admin_id}", headers=h,
                        json={"password": "Taken-Over-Pass-99"}).status_code == 403
    assert client.post("/api/v1/groups", headers=h, json={
        "name": "sneaky", "roles": ["ADMIN"], "categories": "all"}).status_code == 403
    assert client.patch(f"/api/v1/groups/{admin_group}", headers=h,
                        json={"roles": ["NORMAL"]}).status_code == 403
    assert client.patch(f"/api/v1/groups/{admin_group}", headers=h,
                        json={"categories": []}).status_code == 403
    assert client.delete(f"/api/v1/roles/{ids['ACCOUNTS']}", headers=h).status_code == 204


def test_the_last_administrator_stays(client, auth):
    admin_id = client.get("/api/v1/users", headers=auth).json()["items"][0]["id"]
    for change in ({"locked": True}, {"enabled": False}, {"is_admin": False}):
        # The admin is also in the administrators group, so is_admin alone is not the last.
        response = client.patch(f"/api/v1/users/{admin_id}", headers=auth, json=change)
        if change == {"is_admin": False}:
            assert response.status_code == 200
        else:
            assert response.status_code == 409, change
    gid = client.get("/api/v1/groups", headers=auth).json()["items"][0]["id"]
    assert client.patch(f"/api/v1/users/{admin_id}", headers=auth,
                        json={"groups": []}).status_code == 409
    assert client.delete(f"/api/v1/groups/{gid}", headers=auth).status_code == 409
    assert client.delete(f"/api/v1/users/{admin_id}", headers=auth).status_code == 409


def test_groups_roles_permissions_levels_crud(client, auth, settings):
    with unit_of_work(settings) as session:
        cat = add_category(session, "纪录片")
    g = client.post("/api/v1/groups", headers=auth, json={
        "name": "archive", "roles": ["NORMAL"], "categories": "all", "quota_bytes": 1000})
    assert g.status_code == 201 and g.json()["categories"] == "all"
    gid = g.json()["id"]
    assert client.post("/api/v1/groups", headers=auth, json={
        "name": "ARCHIVE", "roles": [], "categories": []}).status_code == 409
    assert client.post("/api/v1/groups", headers=auth, json={
        "name": "bad", "roles": [], "categories": [999]}).status_code == 422
    assert client.post("/api/v1/groups", headers=auth, json={
        "name": "bad", "roles": [], "categories": "some"}).status_code == 422
    p = client.patch(f"/api/v1/groups/{gid}", headers=auth,
                     json={"categories": [cat.id], "quota_bytes": None, "roles": ["EDITOR"]})
    assert p.status_code == 200
    assert p.json()["categories"] == [cat.id] and p.json()["quota_bytes"] is None
    assert client.delete(f"/api/v1/groups/{gid}", headers=auth).status_code == 204
    assert client.get(f"/api/v1/groups/{gid}", headers=auth).status_code == 404

    r = client.post("/api/v1/roles", headers=auth, json={
        "name": "ARCHIVIST", "permissions": ["asset.upload", "asset.catalog"]})
    assert r.status_code == 201 and r.json()["builtin"] is False
    rid = r.json()["id"]
    assert client.patch(f"/api/v1/roles/{rid}", headers=auth,
                        json={"permissions": ["nope.x"]}).status_code == 422
    assert client.patch(f"/api/v1/roles/{rid}", headers=auth,
                        json={"permissions": ["asset.upload"]}).json()["permissions"] == [
        "asset.upload"]
    assert client.delete(f"/api/v1/roles/{rid}", headers=auth).status_code == 204
    builtin = _ids(client, auth, "/api/v1/roles")
    assert client.delete(f"/api/v1/roles/{builtin['NORMAL']}", headers=auth).status_code == 409
    assert client.patch(f"/api/v1/roles/{builtin['ADMIN']}", headers=auth,
                        json={"permissions": []}).status_code == 409

    perm = client.post("/api/v1/permissions", headers=auth,
                       json={"name": "export.run", "description": "Run exports"})
    assert perm.status_code == 201
    assert client.post("/api/v1/permissions", headers=auth,
                       json={"name": "Not A Name"}).status_code == 422
    roles = {x["name"]: x for x in client.get("/api/v1/roles", headers=auth).json()}
    assert "export.run" in roles["ADMIN"]["permissions"]
    assert client.delete(f"/api/v1/permissions/{perm.json()['id']}",
                         headers=auth).status_code == 204
    upload = _ids(client, auth, "/api/v1/permissions")["asset.upload"]
    assert client.delete(f"/api/v1/permissions/{upload}", headers=auth).status_code == 409

    assert client.patch("/api/v1/levels/2", headers=auth,
                        json={"name": "内部", "enabled": False}).json() == {
        "id": 2, "name": "内部", "description": "Private", "enabled": False}
    assert client.post("/api/v1/levels", headers=auth,
                       json={"id": 6, "name": "核心"}).status_code == 201
    assert client.post("/api/v1/levels", headers=auth,
                       json={"id": 6, "name": "again"}).status_code == 409
    assert client.delete("/api/v1/levels/6", headers=auth).status_code == 204
    assert client.delete("/api/v1/levels/5", headers=auth).status_code == 409  # admin has 5


def test_audit_log_records_rights_changes_and_is_read_only(client, auth):
    uid = _user(client, auth, username="li", level=1)["id"]
    client.patch(f"/api/v1/users/{uid}", headers=auth, json={"level": 3, "locked": True})
    log = client.get("/api/v1/audit", headers=auth, params={"action": "user.update"}).json()
    assert log["total"] == 1
    entry = log["items"][0]
    assert entry["actor"] == "admin" and entry["target_type"] == "user"
    assert entry["target_id"] == str(uid) and entry["ip"] == "testclient"
    assert entry["detail"]["before"] == {"level": 1, "locked": False}
    assert entry["detail"]["after"] == {"level": 3, "locked": True}
    prefix = client.get("/api/v1/audit", headers=auth,
                        params={"action": "user.", "actor": "admin"}).json()
    assert [e["action"] for e in prefix["items"]] == ["user.update", "user.create"]
    paged = client.get("/api/v1/audit", headers=auth, params={"size": 1, "page": 2}).json()
    assert paged["size"] == 1 and paged["page"] == 2 and len(paged["items"]) == 1
    assert paged["total"] >= 3
    future = client.get("/api/v1/audit", headers=auth,
                        params={"from": "2999-01-01T00:00:00"}).json()
    assert future["total"] == 0
    failures = client.get("/api/v1/audit", headers=auth, params={"success": False}).json()
    assert failures["total"] == 0
    for method in ("post", "put", "patch", "delete"):
        assert client.request(method, "/api/v1/audit", headers=auth,
                              json={}).status_code == 405
