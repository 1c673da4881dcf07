"""Upload rights: asset.upload, category bindings and enforced group quotas (multipart, tus)."""

from __future__ import annotations

import base64

from sqlalchemy import select

from openwan.access import quota
from openwan.db import unit_of_work
from openwan.models import Asset, AssetStatus, AuditEntry, User
from tests.access.world import add_asset, add_category, add_group, add_user, bearer
from tests.conftest import all_backends, stray_files
from tests.media import png_bytes


def _setup(settings, quota_bytes=None):
    with unit_of_work(settings) as session:
        news, film = add_category(session, "新闻"), add_category(session, "电影")
        editors = add_group(session, "editors", ["EDITOR"], [news])
        editors.quota_bytes = quota_bytes
        viewers = add_group(session, "viewers", ["NORMAL"], [news])
        editor = add_user(session, "editor", groups=[editors])
        colleague = add_user(session, "colleague", groups=[editors])
        viewer = add_user(session, "viewer", groups=[viewers])
        return {"news": news.id, "film": film.id, "group": editors.id,
                "editor": bearer(session, settings, editor),
                "colleague": colleague.id, "viewer": bearer(session, settings, viewer)}


def _multipart(client, headers, data: bytes, **fields):
    return client.post("/api/v1/assets", headers=headers, data=fields,
                       files={"file": ("still.png", data, "image/png")})


def _tus_create(client, headers, length: int, **meta):
    meta = {"filename": "still.png", **meta}
    encoded = ",".join(f"{k} {base64.b64encode(str(v).encode()).decode()}"
                       for k, v in meta.items())
    return client.post("/api/v1/uploads", headers={
        **headers, "Tus-Resumable": "1.0.0", "Upload-Length": str(length),
        "Upload-Metadata": encoded})


def test_uploading_needs_asset_upload_and_a_bound_category(client, settings):
    s = _setup(settings)
    png = png_bytes()
    assert _multipart(client, s["viewer"], png).status_code == 403
    assert _tus_create(client, s["viewer"], len(png)).status_code == 403
    refused = _multipart(client, s["editor"], png, category_id=str(s["film"]))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "category_not_allowed"
    assert _tus_create(client, s["editor"], len(png), category_id=s["film"]).status_code == 403
    ok = _multipart(client, s["editor"], png, category_id=str(s["news"]))
    assert ok.status_code == 201, ok.text
    # Moving it out of the editor's categories is refused too.
    moved = client.patch(f"/api/v1/assets/{ok.json()['id']}", headers=s["editor"],
                         json={"category_id": s["film"]})
    assert moved.status_code == 403
    assert stray_files(settings) == []
    with unit_of_work(settings) as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "asset.upload"))
        assert entry.actor == "editor" and entry.target_id == str(ok.json()["id"])
        assert entry.ip == "testclient"


def test_group_quota_refuses_multipart_and_tus_uploads(client, settings):
    png = png_bytes()
    s = _setup(settings, quota_bytes=len(png) * 2 + 10)
    with unit_of_work(settings) as session:
        # A colleague's asset counts against the shared quota; a deleted one does not.
        colleague = session.get(User, s["colleague"])
        add_asset(session, uploader=colleague, size=len(png))
        add_asset(session, uploader=colleague, size=10_000, status=AssetStatus.deleted)
    assert _multipart(client, s["editor"], png).status_code == 201
    over = _multipart(client, s["editor"], png_bytes(color=(1, 2, 3)))
    assert over.status_code == 413
    error = over.json()["error"]
    assert error["code"] == "quota_exceeded" and error["group_id"] == s["group"]
    assert error["used_bytes"] == 2 * len(png)
    assert _tus_create(client, s["editor"], len(png)).status_code == 413
    assert stray_files(settings) == []
    with unit_of_work(settings) as session:
        assert session.scalar(select(Asset).where(Asset.uploaded_by.is_not(None))
                              .order_by(Asset.id.desc())).size == len(png)


def test_tus_completion_rechecks_the_quota(client, settings):
    png = png_bytes()
    s = _setup(settings, quota_bytes=len(png) + 5)
    created = _tus_create(client, s["editor"], len(png))
    assert created.status_code == 201
    with unit_of_work(settings) as session:  # meanwhile a colleague fills the quota
        add_asset(session, uploader=session.get(User, s["colleague"]), size=len(png))
    done = client.patch(created.headers["location"], content=png, headers={
        **s["editor"], "Tus-Resumable": "1.0.0", "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream"})
    assert done.status_code == 413 and done.json()["error"]["code"] == "quota_exceeded"
    assert stray_files(settings) == []


@all_backends
def test_quota_counts_members_assets_outside_the_recycle_bin(settings):
    with unit_of_work(settings) as session:
        group = add_group(session, "g", ["EDITOR"], [])
        group.quota_bytes = 1000
        other = add_group(session, "h", ["EDITOR"], [])
        a, b = add_user(session, "a", groups=[group]), add_user(session, "b", groups=[group])
        outsider = add_user(session, "c", groups=[other])
        add_asset(session, uploader=a, size=400)
        add_asset(session, uploader=b, size=500)
        add_asset(session, uploader=b, size=900, status=AssetStatus.deleted)
        add_asset(session, uploader=outsider, size=10_000)
        quota.check(session, a, 100)
        for user in (a, b):
            try:
                quota.check(session, user, 101)
            except quota.QuotaExceeded as exc:
                assert exc.extra["used_bytes"] == 900 and exc.status == 413
            else:
                raise AssertionError("quota not enforced")
        quota.check(session, outsider, 10**12)  # no quota on that group
