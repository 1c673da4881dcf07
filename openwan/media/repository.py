"""Renditions in the database: recorded only after their objects are completely stored."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from openwan.media.plan import Output
from openwan.models import Rendition


def list_for_asset(session: Session, asset_id: int) -> list[Rendition]:
    return list(session.scalars(select(Rendition).where(Rendition.asset_id == asset_id)
                                .order_by(Rendition.id)))


def record(session: Session, asset_id: int, output: Output, size: int) -> Rendition:
    """Insert or replace the rendition named ``output.name`` of the asset."""
    row = session.scalar(select(Rendition).where(Rendition.asset_id == asset_id,
                                                 Rendition.name == output.name))
    if row is None:
        row = Rendition(asset_id=asset_id, name=output.name)
        session.add(row)
    row.kind = output.kind
    row.format = output.format
    row.content_type = output.content_type
    row.storage_key = output.key
    row.size = size
    row.width = output.width
    row.height = output.height
    row.extra = dict(output.extra)
    session.flush()
    return row


def remove_others(session: Session, asset_id: int, keep: set[str]) -> list[Rendition]:
    """Drop the asset's renditions not named in ``keep`` (profiles changed); returns them so
    the caller can delete their objects."""
    stale = [r for r in list_for_asset(session, asset_id) if r.name not in keep]
    if stale:
        session.execute(delete(Rendition).where(Rendition.id.in_([r.id for r in stale])))
    return stale
