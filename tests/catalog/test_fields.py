"""Catalogue schemas: the seeded video schema, typed validation of asset metadata, and
schema edits that never corrupt stored values."""

from __future__ import annotations

from openwan.catalog.fields import missing_required
from openwan.db import unit_of_work
from tests.conftest import all_backends
from tests.search.helpers import ids, make_asset


def _schema(client, auth, type_="video"):
    response = client.get("/api/v1/catalog-fields", params={"type": type_}, headers=auth)
    assert response.status_code == 200
    return {g["key"]: g for g in response.json()["items"]}


def _field(groups, group, key):
    return next(f for f in groups[group]["fields"] if f["key"] == key)


def test_seeded_schemas(client, auth):
    video = _schema(client, auth)
    assert [f["key"] for f in video["题名"]["fields"]] == [
        "正题名", "并列正题名", "副题名", "交替副题名", "题名说明", "系列题名", "并列题名",
        "分集总数", "分集次"]
    assert [f["key"] for f in video["主题"]["fields"]] == ["分类名", "主题词"]
    assert _field(video, "题名", "分集次")["kind"] == "number"
    assert _field(video, "题名", "正题名")["required"] is True
    assert video["题名"]["name_en"] == "Title"
    for type_ in ("audio", "image", "document"):
        assert "题名" in _schema(client, auth, type_)


@all_backends
def test_metadata_is_validated_against_the_schema(client, auth, settings):
    asset = make_asset(settings, "待编目", status="new", uploaded_by=1)
    url = f"/api/v1/assets/{asset}"
    # Work in progress saves without the required field; submit checks can ask what's missing.
    partial = client.patch(url, json={"title": "待编目", "metadata": {}}, headers=auth)
    assert partial.status_code == 200, partial.text
    with unit_of_work(settings) as session:
        assert missing_required(session, "video", {}) == ["题名.正题名"]
        assert missing_required(session, "video", {"题名": {"正题名": "x"}}) == []
    ok = client.patch(url, json={"metadata": {
        "题名": {"正题名": "长江之歌", "分集总数": "12", "分集次": 3},
        "主题": {"主题词": "长江 纪录片"}, "描述": {"语种": "汉语"}}}, headers=auth)
    assert ok.status_code == 200, ok.text
    assert ok.json()["metadata"]["题名"] == {"正题名": "长江之歌", "分集总数": 12, "分集次": 3}

    bad = {
        "metadata.题名.分集次": {"题名": {"分集次": "three"}},
        "metadata.描述.语种": {"描述": {"语种": "火星语"}},
        "metadata.题名.不存在": {"题名": {"不存在": "x"}},
        "metadata.无此组": {"无此组": {"a": "b"}},
        "metadata.题名.正题名": {"题名": {"正题名": None}},  # required
        "metadata.题名.副题名": {"题名": {"副题名": "x" * 1001}},
    }
    for where, metadata in bad.items():
        response = client.patch(url, json={"metadata": metadata}, headers=auth)
        assert response.status_code == 422, (where, response.text)
        assert response.json()["error"]["field"] == where, response.text
    # Nothing of the refused edits stuck; a merge keeps untouched fields.
    merged = client.patch(url, json={"metadata": {"题名": {"副题名": "第一部"}}}, headers=auth)
    assert merged.json()["metadata"]["题名"]["分集次"] == 3
    assert merged.json()["metadata"]["题名"]["副题名"] == "第一部"
    # The edit is searchable in the same commit (published later: ask for its status).
    assert ids(client.get("/api/v1/search", params={"q": "第一部", "status": "new"},
                          headers=auth)) == [asset]
    assert ids(client.get("/api/v1/search", params={"m.题名.分集次": "3", "status": "new"},
                          headers=auth)) == [asset]


@all_backends
def test_schema_edits_never_orphan_values(client, auth, settings):
    groups = _schema(client, auth)
    created = client.post("/api/v1/catalog-fields", json={
        "media_type": "video", "parent_id": groups["主题"]["id"], "key": "栏目",
        "kind": "choice", "name_zh": "栏目", "name_en": "Programme",
        "choices": ["新闻联播", "焦点访谈"]}, headers=auth)
    assert created.status_code == 201, created.text
    field = created.json()
    asset = make_asset(settings, "节目", status="new", uploaded_by=1)
    url = f"/api/v1/assets/{asset}"
    assert client.patch(url, json={"metadata": {"题名": {"正题名": "节目"},
                                                "主题": {"栏目": "焦点访谈"}}},
                        headers=auth).status_code == 200
    furl = f"/api/v1/catalog-fields/{field['id']}"

    # Renaming and re-describing keep the values (keys never change).
    assert client.patch(furl, json={"name_zh": "节目栏目", "name_en": "Show"},
                        headers=auth).status_code == 200
    assert client.patch(furl, json={"key": "other"}, headers=auth).status_code == 422
    # Removing a used choice, or re-typing used values, is refused with 409.
    refused = client.patch(furl, json={"choices": ["新闻联播"]}, headers=auth)
    assert refused.status_code == 409 and refused.json()["error"]["assets"] == 1
    assert client.patch(furl, json={"kind": "number"}, headers=auth).status_code == 409
    assert client.patch(furl, json={"choices": ["新闻联播", "焦点访谈", "今日说法"]},
                        headers=auth).status_code == 200
    # Disabling keeps the value and forbids changing it, while other fields stay editable.
    assert client.patch(furl, json={"enabled": False}, headers=auth).status_code == 200
    assert client.patch(url, json={"metadata": {"主题": {"栏目": "新闻联播"}}},
                        headers=auth).status_code == 422
    kept = client.patch(url, json={"metadata": {"主题": {"主题词": "访谈"}}}, headers=auth)
    assert kept.status_code == 200 and kept.json()["metadata"]["主题"]["栏目"] == "焦点访谈"
    # Deleting a field with values: 409, or archive (hidden, values kept).
    assert client.delete(furl, headers=auth).status_code == 409
    archived = client.delete(furl, params={"archive": True}, headers=auth)
    assert archived.status_code == 200 and archived.json()["archived"] is True
    assert "栏目" not in [f["key"] for f in _schema(client, auth)["主题"]["fields"]]
    assert client.get(url, headers=auth).json()["metadata"]["主题"]["栏目"] == "焦点访谈"
    # A group with fields is not deleted; an unused field is.
    assert client.delete(f"/api/v1/catalog-fields/{groups['主题']['id']}",
                         headers=auth).status_code == 409
    unused = _field(groups, "题名", "交替副题名")
    assert client.delete(f"/api/v1/catalog-fields/{unused['id']}",
                         headers=auth).status_code == 204


def test_field_admin_rights_and_bad_input(client, auth, settings):
    from tests.conftest import login
    from tests.search.helpers import PASSWORD, make_user

    make_user(settings, "viewer")
    viewer = login(client, "viewer", PASSWORD)
    groups = _schema(client, auth)
    body = {"media_type": "video", "parent_id": groups["题名"]["id"], "name_zh": "备注"}
    assert client.post("/api/v1/catalog-fields", json=body, headers=viewer).status_code == 403
    for bad in ({**body, "kind": "colour"}, {**body, "media_type": "hologram"},
                {**body, "parent_id": 999_999}, {**body, "key": "a.b"},
                {**body, "kind": "choice"}, {**body, "choices": ["x"]},
                {"media_type": "video", "kind": "group", "name_zh": "组", "parent_id": 1}):
        response = client.post("/api/v1/catalog-fields", json=bad, headers=auth)
        assert response.status_code == 422, (bad, response.text)
    assert client.post("/api/v1/catalog-fields", json={**body, "name_zh": "正题名"},
                       headers=auth).status_code == 409
    group = client.post("/api/v1/catalog-fields", json={"media_type": "image", "kind": "group",
                                                        "name_zh": "版权", "name_en": "Rights"},
                        headers=auth)
    assert group.status_code == 201 and group.json()["group"] is None
