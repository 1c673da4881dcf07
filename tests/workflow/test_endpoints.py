"""The workflow's own routes: POST /api/v1/assets/{id}/purge (out of the recycle bin for good,
files and rows, audited) and GET /api/v1/review/choices (levels and groups for reviewers)."""

from __future__ import annotations

from sqlalchemy import select

from openwan.db import unit_of_work
from openwan.models import Asset, AuditEntry, Rendition
from openwan.storage import get_storage
from tests.access.world import add_asset, bearer, build_world


def test_purge_removes_a_deleted_asset_for_good(client, settings):
    storage = get_storage(settings)
    with unit_of_work(settings) as session:
        w = build_world(session)
        news = w.categories["news"]
        binned = add_asset(session, uploader=w.users["editor"], category=news, status="deleted",
                           storage=storage)
        live = add_asset(session, uploader=w.users["editor"], category=news, status="published",
                         storage=storage)
        hidden = add_asset(session, uploader=w.users["admin"], category=w.categories["film"],
                           status="deleted", storage=storage)
        poster = f"thumbnails/{binned.id}/poster.jpg"
        storage.put_bytes(poster, b"jpeg", "image/jpeg")
        session.add(Rendition(asset_id=binned.id, kind="poster", name="poster", format="jpg",
                              content_type="image/jpeg", storage_key=poster, size=4))
        ids = {"binned": binned.id, "live": live.id, "hidden": hidden.id}
        keys = {"binned": binned.storage_key, "live": live.storage_key}
        reviewer_id = w.users["reviewer"].id
        reviewer = bearer(session, settings, w.users["reviewer"])
        editor = bearer(session, settings, w.users["editor"])

    def purge(auth, name):
        return client.post(f"/api/v1/assets/{ids[name]}/purge", headers=auth)

    assert purge(editor, "binned").status_code == 404  # the bin is not the uploader's to see
    assert purge(reviewer, "live").status_code == 409  # only from the bin
    assert purge(reviewer, "hidden").status_code == 404  # outside the reviewer's categories
    assert purge(reviewer, "binned").status_code == 204
    assert purge(reviewer, "binned").status_code == 404
    assert not storage.exists(keys["binned"]) and not storage.exists(poster)
    assert storage.exists(keys["live"])
    with unit_of_work(settings) as session:
        assert session.get(Asset, ids["binned"]) is None
        assert session.scalars(select(Rendition).where(
            Rendition.asset_id == ids["binned"])).all() == []
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "asset.purge")).one()
        assert entry.actor_id == reviewer_id and entry.target_id == str(ids["binned"])
        assert entry.detail["filename"].endswith(".png")


def test_reviewers_see_the_levels_and_groups_an_approval_may_name(client, settings):
    with unit_of_work(settings) as session:
        w = build_world(session)
        reviewer = bearer(session, settings, w.users["reviewer"])
        editor = bearer(session, settings, w.users["editor"])
        names = sorted(g.name for g in w.groups.values()) + ["administrators"]
    answer = client.get("/api/v1/review/choices", headers=reviewer)
    assert answer.status_code == 200
    assert sorted(g["name"] for g in answer.json()["groups"]) == sorted(names)
    assert [lv["id"] for lv in answer.json()["levels"]] == [1, 2, 3, 4, 5]
    assert answer.json()["levels"][4]["description"] == "Top secret"
    assert client.get("/api/v1/review/choices", headers=editor).status_code == 403
