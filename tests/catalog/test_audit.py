"""Category and catalogue-schema changes are audited: who, what, before and after, in the
same transaction as the change (a refused change leaves no entry)."""

from __future__ import annotations

import pytest

from tests.conftest import login
from tests.search.helpers import PASSWORD, make_asset, make_user

# SQLite and one server backend: the entries are plain rows, the JSON detail is what differs.
backends = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)


def _log(client, auth, **params):
    response = client.get("/api/v1/audit", params={"size": 500, **params}, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()["items"]


@backends
def test_category_changes_are_audited(client, auth, settings):
    def post(name, parent_id=None):
        response = client.post("/api/v1/categories", json={"name": name, "parent_id": parent_id},
                               headers=auth)
        assert response.status_code == 201, response.text
        return response.json()

    news, sport = post("新闻"), post("体育")
    city = post("城市", news["id"])
    asset = make_asset(settings, "Harbour", category_id=city["id"])
    url = f"/api/v1/categories/{city['id']}"
    for change in ({"name": "都市"}, {"parent_id": sport["id"]}, {"weight": 7},
                   {"enabled": False}):
        assert client.patch(url, json=change, headers=auth).status_code == 200
    # Refused changes are not recorded: a duplicate name, deleting with assets and no target.
    assert client.patch(f"/api/v1/categories/{sport['id']}", json={"name": "新闻"},
                        headers=auth).status_code == 409
    assert client.delete(url, headers=auth).status_code == 409
    assert client.delete(url, params={"move_to": news["id"]}, headers=auth).status_code == 204

    entries = _log(client, auth, action="category.")
    assert all(e["actor"] == "admin" and e["target_type"] == "category" for e in entries)
    created = [e for e in entries if e["action"] == "category.create"]
    assert {e["detail"]["after"]["name"] for e in created} == {"新闻", "体育", "城市"}
    mine = list(reversed(_log(client, auth, target_type="category", target_id=str(city["id"]))))
    assert [e["action"] for e in mine] == ["category.create"] + ["category.update"] * 4 + [
        "category.delete"]
    rename, move, weight, disable = (e["detail"] for e in mine[1:5])
    assert rename == {"before": {"name": "城市"}, "after": {"name": "都市"}}
    assert move["before"]["parent_id"] == news["id"]
    assert move["after"] == {"parent_id": sport["id"],
                             "path": f"/{sport['id']}/{city['id']}/"}
    assert weight == {"before": {"weight": 0}, "after": {"weight": 7}}
    assert disable == {"before": {"enabled": True}, "after": {"enabled": False}}
    deleted = mine[5]["detail"]
    assert deleted["before"]["name"] == "都市"
    assert deleted["move_to"] == news["id"] and deleted["moved_assets"] == 1
    assert client.get(f"/api/v1/assets/{asset}", headers=auth).json()["category_id"] == news["id"]
    # The filters an auditor uses: action prefix, who, and the list of actions.
    assert _log(client, auth, action="category.", actor="nobody") == []
    actions = client.get("/api/v1/audit/actions", headers=auth).json()
    assert {"category.create", "category.update", "category.delete"} <= set(actions)
    assert actions == sorted(actions)


@backends
def test_catalogue_schema_changes_are_audited(client, auth, settings):
    def post(**body):
        response = client.post("/api/v1/catalog-fields", json={"media_type": "audio", **body},
                               headers=auth)
        assert response.status_code == 201, response.text
        return response.json()

    group = post(kind="group", key="节目", name_zh="节目", name_en="Programme")
    field = post(parent_id=group["id"], key="栏目", kind="choice", name_zh="栏目",
                 choices=["新闻", "访谈"])
    spare = post(parent_id=group["id"], key="备注", kind="longtext", name_zh="备注")
    furl = f"/api/v1/catalog-fields/{field['id']}"
    assert client.patch(furl, json={"name_en": "Show", "required": True},
                        headers=auth).status_code == 200
    assert client.patch(furl, json={"key": "other"}, headers=auth).status_code == 422
    asset = make_asset(settings, "访谈节目", type="audio", status="new", uploaded_by=1)
    assert client.patch(f"/api/v1/assets/{asset}", json={"metadata": {"节目": {"栏目": "访谈"}}},
                        headers=auth).status_code == 200
    assert client.delete(furl, headers=auth).status_code == 409
    assert client.delete(furl, params={"archive": True}, headers=auth).status_code == 200
    assert client.delete(f"/api/v1/catalog-fields/{spare['id']}",
                         headers=auth).status_code == 204

    entries = list(reversed(_log(client, auth, action="catalog_field.")))
    assert [(e["action"], e["target_id"]) for e in entries] == [
        ("catalog_field.create", str(group["id"])), ("catalog_field.create", str(field["id"])),
        ("catalog_field.create", str(spare["id"])), ("catalog_field.update", str(field["id"])),
        ("catalog_field.archive", str(field["id"])),
        ("catalog_field.delete", str(spare["id"]))]
    assert all(e["actor"] == "admin" and e["target_type"] == "catalog_field" for e in entries)
    assert entries[0]["detail"]["after"]["kind"] == "group"
    assert entries[1]["detail"]["after"]["choices"] == ["新闻", "访谈"]
    assert entries[3]["detail"] == {"before": {"name_en": "", "required": False},
                                    "after": {"name_en": "Show", "required": True}}
    assert entries[4]["detail"]["after"] == {"enabled": False, "archived": True}
    assert entries[4]["detail"]["assets"] == 1
    assert entries[5]["detail"]["before"]["key"] == "备注"

    # A group deleted with its unused fields names them; one with values is archived.
    empty = post(kind="group", key="草稿", name_zh="草稿")
    post(parent_id=empty["id"], key="想法", name_zh="想法")
    assert client.delete(f"/api/v1/catalog-fields/{empty['id']}",
                         headers=auth).status_code == 409
    assert client.delete(f"/api/v1/catalog-fields/{empty['id']}", params={"archive": True},
                         headers=auth).status_code == 204
    assert client.delete(f"/api/v1/catalog-fields/{group['id']}", params={"archive": True},
                         headers=auth).status_code == 200
    last = _log(client, auth, action="catalog_field.", size=2)
    assert [(e["action"], e["target_id"]) for e in last] == [
        ("catalog_field.archive", str(group["id"])), ("catalog_field.delete", str(empty["id"]))]
    assert last[1]["detail"]["fields"] == ["想法"]
    assert last[0]["detail"]["after"] == {"enabled": False, "archived": True}


def test_only_auditors_read_the_actions(client, auth, settings):
    make_user(settings, "reader")
    reader = login(client, "reader", PASSWORD)
    assert client.get("/api/v1/audit/actions", headers=reader).status_code == 403
    assert "auth.login" in client.get("/api/v1/audit/actions", headers=auth).json()
