"""Test data for search and catalogue tests: users and assets made through the services'
own hook (``asset_changed``), as the upload and workflow services do."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime
from typing import Any

from openwan.access import service as access
from openwan.assets.events import asset_changed
from openwan.db import unit_of_work
from openwan.models import Asset

PASSWORD = "Correct-Horse-Battery-9"
_seq = itertools.count(1)


def make_user(settings, name: str, *, level: int = 1, admin: bool = False) -> int:
    """A user of the given clearance who may browse every category (as OpenWan's default
    group with all categories, where the access model has groups)."""
    import openwan.models as models

    with unit_of_work(settings) as session:
        user = access.create_user(session, name, PASSWORD, is_admin=admin, level=level)
        group_model = getattr(models, "Group", None)
        if group_model is not None:
            from sqlalchemy import insert, select

            group = session.scalar(select(group_model).where(group_model.name == "readers"))
            if group is None:
                group = group_model(name="readers", all_categories=True)
                session.add(group)
                session.flush()
            session.execute(insert(models.user_groups).values(user_id=user.id,
                                                              group_id=group.id))
        return user.id


def make_asset(settings, title: str, *, type: str = "video", status: str = "published",
               level: int = 1, uploaded_by: int | None = None, category_id: int | None = None,
               catalog: dict | None = None, technical: dict | None = None,
               created: datetime | None = None, filename: str | None = None) -> int:
    n = next(_seq)
    with unit_of_work(settings) as session:
        asset = Asset(type=type, title=title, filename=filename or f"file{n}.mp4",
                      extension="mp4", size=100, sha256=f"{n:064x}", mime_type="video/mp4",
                      storage_key=f"original/{type}/t/{n}-{uuid.uuid4().hex}.bin", status=status,
                      level=level, groups="all", download=True, category_id=category_id,
                      catalog=catalog or {}, technical=technical or {}, uploaded_by=uploaded_by,
                      media_state="ready")
        if created:
            asset.created_at = created
        if status == "published":
            asset.published_at = created or datetime.now(UTC)
        session.add(asset)
        session.flush()
        asset_changed(session, asset)
        return asset.id


def change_asset(settings, asset_id: int, **values: Any) -> None:
    with unit_of_work(settings) as session:
        asset = session.get(Asset, asset_id)
        for key, value in values.items():
            setattr(asset, key, value)
        session.flush()
        asset_changed(session, asset)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]
