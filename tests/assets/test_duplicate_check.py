"""GET /api/v1/assets/duplicate: a client that hashed a file first asks whether it is there."""

from __future__ import annotations

import hashlib

from openwan.db import unit_of_work
from tests.access.world import add_asset, bearer, build_world
from tests.media import png_bytes


def test_a_duplicate_is_named_only_to_whom_may_see_it(client, settings):
    with unit_of_work(settings) as session:
        w = build_world(session)
        news = w.categories["news"]
        seen = add_asset(session, uploader=w.users["admin"], category=news, level=1)
        secret = add_asset(session, uploader=w.users["admin"], category=news, level=5)
        binned = add_asset(session, uploader=w.users["admin"], category=news, status="deleted")
        seen_id = seen.id
        sums = {"seen": seen.sha256, "secret": secret.sha256, "binned": binned.sha256}
        editor = bearer(session, settings, w.users["editor"])
        viewer = bearer(session, settings, w.users["viewer1"])

    def ask(auth, sha):
        return client.get("/api/v1/assets/duplicate", params={"sha256": sha}, headers=auth)

    answer = ask(editor, sums["seen"].upper())
    assert answer.status_code == 200
    assert answer.json() == {"sha256": sums["seen"], "duplicate": True, "asset_id": seen_id,
                             "title": answer.json()["title"]}
    assert answer.json()["title"]
    # Above the editor's level: there, but not named (the upload's 409 says as much).
    assert ask(editor, sums["secret"]).json() == {"sha256": sums["secret"], "duplicate": True,
                                                  "asset_id": None, "title": None}
    # The recycle bin does not count, like the upload's own check.
    assert ask(editor, sums["binned"]).json()["duplicate"] is False
    fresh = hashlib.sha256(png_bytes(3, 3)).hexdigest()
    assert ask(editor, fresh).json() == {"sha256": fresh, "duplicate": False,
                                         "asset_id": None, "title": None}
    assert ask(editor, "abc").status_code == 422
    assert ask(viewer, fresh).status_code == 403  # only uploaders ask
