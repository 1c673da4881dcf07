"""The category tree over HTTP: create, move, rename, disable, delete with a target."""

from __future__ import annotations

from tests.conftest import all_backends, login
from tests.search.helpers import PASSWORD, ids, make_asset, make_user


def _create(client, auth, name, parent_id=None, **extra):
    response = client.post("/api/v1/categories", json={"name": name, "parent_id": parent_id,
                                                       **extra}, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()


@all_backends
def test_tree_move_rename_and_search_follow(client, auth, settings):
    news = _create(client, auth, "新闻")
    domestic = _create(client, auth, "国内", news["id"])
    city = _create(client, auth, "城市", domestic["id"])
    docs = _create(client, auth, "纪录片", weight=10)
    assert city["path"] == f"/{news['id']}/{domestic['id']}/{city['id']}/"
    asset = make_asset(settings, "Morning traffic", category_id=city["id"])

    tree = client.get("/api/v1/categories", headers=auth).json()["items"]
    assert [n["name"] for n in tree] == ["纪录片", "新闻"]  # weight first
    assert tree[1]["children"][0]["children"][0]["id"] == city["id"]
    assert ids(client.get("/api/v1/search", params={"q": "国内"}, headers=auth)) == [asset]

    # Move 国内 (with 城市 below it) under 纪录片; paths and search text follow.
    moved = client.patch(f"/api/v1/categories/{domestic['id']}",
                         json={"parent_id": docs["id"]}, headers=auth)
    assert moved.status_code == 200, moved.text
    flat = {c["id"]: c for c in client.get("/api/v1/categories", params={"flat": True},
                                           headers=auth).json()["items"]}
    assert flat[city["id"]]["path"] == f"/{docs['id']}/{domestic['id']}/{city['id']}/"
    assert ids(client.get("/api/v1/search", params={"q": "纪录片"}, headers=auth)) == [asset]
    assert ids(client.get("/api/v1/search", params={"category_id": docs["id"]},
                          headers=auth)) == [asset]
    assert ids(client.get("/api/v1/search", params={"category_id": news["id"]},
                          headers=auth)) == []

    renamed = client.patch(f"/api/v1/categories/{city['id']}", json={"name": "都市"},
                           headers=auth)
    assert renamed.status_code == 200
    assert ids(client.get("/api/v1/search", params={"q": "都市"}, headers=auth)) == [asset]
    assert ids(client.get("/api/v1/search", params={"q": "城市"}, headers=auth)) == []

    below_itself = client.patch(f"/api/v1/categories/{docs['id']}",
                                json={"parent_id": city["id"]}, headers=auth)
    assert below_itself.status_code == 422

    # Delete: refused while it has children or assets, unless the assets get a target.
    assert client.delete(f"/api/v1/categories/{domestic['id']}",
                         headers=auth).status_code == 409
    refused = client.delete(f"/api/v1/categories/{city['id']}", headers=auth)
    assert refused.status_code == 409 and refused.json()["error"]["assets"] == 1
    assert client.delete(f"/api/v1/categories/{city['id']}", params={"move_to": 999_999},
                         headers=auth).status_code == 422
    done = client.delete(f"/api/v1/categories/{city['id']}", params={"move_to": news["id"]},
                         headers=auth)
    assert done.status_code == 204
    assert client.get(f"/api/v1/assets/{asset}", headers=auth).json()["category_id"] == news["id"]
    assert ids(client.get("/api/v1/search", params={"q": "都市"}, headers=auth)) == []
    assert client.delete(f"/api/v1/categories/{domestic['id']}", headers=auth).status_code == 204


def test_rights_disabled_categories_and_bad_input(client, auth, settings):
    make_user(settings, "viewer", level=1)
    viewer = login(client, "viewer", PASSWORD)
    top = _create(client, auth, "体育")
    child = _create(client, auth, "足球", top["id"])
    assert client.post("/api/v1/categories", json={"name": "x"}, headers=viewer).status_code == 403
    assert client.patch(f"/api/v1/categories/{top['id']}", json={"name": "y"},
                        headers=viewer).status_code == 403
    assert client.delete(f"/api/v1/categories/{child['id']}",
                         headers=viewer).status_code == 403
    for body in ({"name": ""}, {"name": "x" * 300}, {"name": "a", "parent_id": 999_999},
                 {"name": "a", "bogus": 1}):
        assert client.post("/api/v1/categories", json=body, headers=auth).status_code == 422
    assert client.post("/api/v1/categories", json={"name": "足球", "parent_id": top["id"]},
                       headers=auth).status_code == 409
    assert client.patch("/api/v1/categories/999999", json={"name": "z"},
                        headers=auth).status_code == 404

    assert client.patch(f"/api/v1/categories/{top['id']}", json={"enabled": False},
                        headers=auth).status_code == 200
    assert client.get("/api/v1/categories", headers=viewer).json()["items"] == []
    assert client.get(f"/api/v1/categories/{child['id']}", headers=viewer).status_code == 200
    assert client.get(f"/api/v1/categories/{top['id']}", headers=viewer).status_code == 404
    assert len(client.get("/api/v1/categories", headers=auth).json()["items"]) == 1
    asset = make_asset(settings, "Goal", status="new", uploaded_by=1)
    moved = client.patch(f"/api/v1/assets/{asset}", json={"category_id": top["id"]},
                         headers=auth)
    assert moved.status_code == 422 and "disabled" in moved.json()["error"]["message"]


def test_a_caller_bound_to_some_categories_sees_no_other_names(client, auth, settings):
    from sqlalchemy import select

    from openwan.access import rights, service
    from openwan.db import unit_of_work
    from openwan.models import User

    news = _create(client, auth, "新闻")
    city = _create(client, auth, "城市", news["id"])
    secret = _create(client, auth, "机密档案")
    with unit_of_work(settings) as session:
        actor = session.scalar(select(User).where(User.username == "admin"))
        group = rights.create_group(session, actor, name="城市组", roles=["NORMAL"],
                                    categories=[city["id"]])
        session.flush()
        service.create_user(session, "citydesk", PASSWORD, groups=[group.id])
    viewer = login(client, "citydesk", PASSWORD)
    flat = client.get("/api/v1/categories?flat=true", headers=viewer).json()["items"]
    assert [c["name"] for c in flat] == ["城市"]
    tree = client.get("/api/v1/categories", headers=viewer).json()["items"]
    assert [c["name"] for c in tree] == ["城市"]
    assert client.get(f"/api/v1/categories/{secret['id']}", headers=viewer).status_code == 404
    assert client.get(f"/api/v1/categories/{news['id']}", headers=viewer).status_code == 404
    assert client.get(f"/api/v1/categories/{city['id']}", headers=viewer).status_code == 200
    names = {c["name"] for c in client.get("/api/v1/categories?flat=true",
                                           headers=auth).json()["items"]}
    assert names == {"新闻", "城市", "机密档案"}
