"""Every asset route against every kind of user over HTTP (SQLite): allow and deny exactly,
404 for what the caller may not see, 403 for a right they lack, 409 for a wrong state."""

from __future__ import annotations

import itertools

import pytest

from openwan.db import unit_of_work
from openwan.models import AssetStatus
from openwan.storage import get_storage
from tests.access.world import (
    STATUSES,
    add_asset,
    add_asset_grid,
    bearer,
    build_world,
    expect_download,
    expect_view,
    manages,
)


@pytest.fixture
def world(settings):
    with unit_of_work(settings) as session:
        w = build_world(session)
        grid = add_asset_grid(session, w, storage=get_storage(settings), small=True)
        headers = {name: bearer(session, settings, u) for name, u in w.users.items()}
    return w, grid, headers


def _edit_states(spec, user, asset) -> set[str]:
    if spec["admin"]:
        return {"new", "pending", "published", "rejected"}
    states = set()
    if asset.uploaded_by == user.id or manages(spec, asset, "asset.catalog"):
        states |= {"new", "rejected"}
    if manages(spec, asset, "asset.review"):
        states.add("pending")
    return states


def test_list_detail_download_and_edit(client, world):
    w, grid, headers = world
    for name, user in w.users.items():
        spec, h = w.spec[name], headers[name]
        visible = {a.id for a in grid if expect_view(spec, user, a)}
        listed = client.get("/api/v1/assets", headers=h, params={"size": 200}).json()
        assert {i["id"] for i in listed["items"]} == {
            a.id for a in grid if a.id in visible and a.status != "deleted"}, name
        assert listed["total"] == len(listed["items"])
        for status in ("published", "pending", "deleted"):
            page = client.get("/api/v1/assets", headers=h,
                              params={"size": 200, "status": status}).json()
            assert {i["id"] for i in page["items"]} == {
                a.id for a in grid if a.id in visible and a.status == status}, (name, status)
        for asset in grid:
            where = (name, asset.id, asset.status)
            detail = client.get(f"/api/v1/assets/{asset.id}", headers=h)
            original = client.get(f"/api/v1/assets/{asset.id}/original", headers=h)
            patch = client.patch(f"/api/v1/assets/{asset.id}", headers=h,
                                 json={"title": f"edited by {name}"})
            if asset.id not in visible:
                assert (detail.status_code, original.status_code, patch.status_code) == (
                    404, 404, 404), where
                continue
            assert detail.status_code == 200, where
            assert original.status_code == (200 if expect_download(spec, user, asset)
                                            else 403), where
            states = _edit_states(spec, user, asset)
            assert patch.status_code == (403 if not states else
                                         200 if asset.status in states else 409), where


ACTIONS = {
    "submit": ("post", "submit", None),
    "approve": ("post", "approve", {"level": 1, "groups": "all", "download": True}),
    "reject": ("post", "reject", {"comment": "需要补充题名"}),
    "restore": ("post", "restore", None),
    "delete": ("delete", None, None),
}


def _expect_action(spec, user, asset, action) -> int:
    if not expect_view(spec, user, asset):
        return 404
    uploader = asset.uploaded_by == user.id
    if action == "submit":
        if not (uploader or manages(spec, asset, "asset.catalog")):
            return 403
        return 200 if asset.status in ("new", "rejected") else 409
    if action in ("approve", "reject"):
        if not manages(spec, asset, "asset.review"):
            return 403
        return 200 if asset.status == "pending" else 409
    if action == "restore":
        if not manages(spec, asset, "asset.delete"):
            return 403
        return 200 if asset.status == "deleted" else 409
    if manages(spec, asset, "asset.delete"):
        return 204 if asset.status != "deleted" else 409
    if not uploader:
        return 403
    return 204 if asset.status == "new" else 409


def test_workflow_actions(client, world, settings):
    w, _, headers = world
    cases = []
    with unit_of_work(settings) as session:
        for name, action, status in itertools.product(w.users, ACTIONS, STATUSES):
            asset = add_asset(session, uploader=w.users["editor"], status=status,
                              category=w.categories["news"],
                              groups=[w.groups["news"].id] if status == "published" else "all")
            cases.append((name, action, asset))
    allowed = 0
    for name, action, asset in cases:
        method, verb, body = ACTIONS[action]
        url = f"/api/v1/assets/{asset.id}" + (f"/{verb}" if verb else "")
        response = client.request(method, url, headers=headers[name], json=body)
        expected = _expect_action(w.spec[name], w.users[name], asset, action)
        assert response.status_code == expected, (name, action, asset.status, response.text)
        if expected in (200, 204):
            allowed += 1
    assert 15 <= allowed < len(cases) // 5


def test_workflow_round_trip_shows_comment_and_publishes(client, world, settings):
    w, _, headers = world
    with unit_of_work(settings) as session:
        asset = add_asset(session, uploader=w.users["editor"], category=w.categories["sports"],
                          storage=get_storage(settings))
    url = f"/api/v1/assets/{asset.id}"
    viewer, editor, reviewer = headers["viewer3"], headers["editor"], headers["reviewer"]
    assert client.get(url, headers=viewer).status_code == 404
    assert client.post(f"{url}/submit", headers=editor).json()["status"] == "pending"
    assert client.post(f"{url}/approve", headers=reviewer,
                       json={"level": 7}).status_code == 422
    sent_back = client.post(f"{url}/reject", headers=reviewer, json={"comment": "缺少主题词"})
    assert sent_back.json()["status"] == "rejected"
    assert client.get(url, headers=editor).json()["review_comment"] == "缺少主题词"
    assert client.post(f"{url}/reject", headers=reviewer, json={"comment": ""}).status_code == 422
    client.post(f"{url}/submit", headers=editor)
    published = client.post(f"{url}/approve", headers=reviewer, json={
        "level": 3, "groups": [w.groups["news"].id], "download": True}).json()
    assert published["status"] == "published" and published["level"] == 3
    assert published["groups"] == [w.groups["news"].id] and published["download"] is True
    assert published["review_comment"] is None and published["published_at"]
    assert client.get(url, headers=viewer).status_code == 200
    assert client.get(f"{url}/original", headers=viewer).status_code == 200
    assert client.get(url, headers=headers["viewer1"]).status_code == 404  # level 3 > 1
    assert client.get(url, headers=headers["filmfan"]).status_code == 404  # not their group
    assert client.delete(url, headers=reviewer).status_code == 204
    assert client.get(url, headers=viewer).status_code == 404
    restored = client.post(f"{url}/restore", headers=reviewer)
    assert restored.json()["status"] == AssetStatus.published
    assert client.get(url, headers=viewer).status_code == 200
    trail = client.get("/api/v1/audit", headers=headers["admin"], params={
        "target_type": "asset", "target_id": str(asset.id), "size": 100}).json()["items"]
    actions = [e["action"] for e in reversed(trail)]
    assert actions == ["asset.submit", "asset.reject", "asset.submit", "asset.approve",
                       "asset.download", "asset.delete", "asset.restore"]
    approve = next(e for e in trail if e["action"] == "asset.approve")
    assert approve["detail"]["before"]["status"] == "pending"
    assert approve["detail"]["after"] == {"status": "published", "level": 3,
                                          "groups": [w.groups["news"].id], "download": True}


def test_unknown_assets_and_bad_bodies(client, world):
    _, grid, headers = world
    h = headers["admin"]
    for path in ("submit", "restore"):
        assert client.post(f"/api/v1/assets/999999/{path}", headers=h).status_code == 404
    pending = next(a for a in grid if a.status == "pending")
    url = f"/api/v1/assets/{pending.id}/approve"
    for body in ({"groups": []}, {"groups": [424242]}, {"groups": "some"}, {"level": 0},
                 {"download": "maybe"}, {"extra": 1}):
        assert client.post(url, headers=h, json=body).status_code == 422, body
    assert client.post(f"/api/v1/assets/{pending.id}/reject", headers=h,
                       json={}).status_code == 422
