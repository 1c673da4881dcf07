"""Empty the recycle bin: assets deleted longer ago than the retention period go for good.

The original and the renditions' files are removed from storage first, then the rows (the
asset with its search document, catalogue values and renditions), in one transaction per
batch. Storage deletes are idempotent, so a run interrupted between the two finishes on the
next run; the reverse order could leave files that no row accounts for.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from openwan.config import Settings
from openwan.db import unit_of_work
from openwan.models import Asset, AssetStatus, Rendition, utcnow
from openwan.search import index as search_index
from openwan.storage import Storage, get_storage

log = logging.getLogger("openwan.catalog.purge")


def purge_deleted(settings: Settings, *, older_than: timedelta | None = None,
                  now: datetime | None = None, batch: int = 200,
                  dry_run: bool = False) -> list[int]:
    """Remove deleted assets whose deletion is older than the retention; returns their ids.

    The deletion time is the asset's last update (deleting is its last change; a restore
    moves it out of the bin).
    """
    retention = older_than if older_than is not None else timedelta(
        days=settings.catalog.recycle_days)
    cutoff = (now or utcnow()) - retention
    storage = get_storage(settings)
    purged: list[int] = []
    while True:
        with unit_of_work(settings) as session:
            query = (select(Asset).where(Asset.status == AssetStatus.deleted,
                                         Asset.updated_at < cutoff)
                     .order_by(Asset.id).limit(batch))
            if session.get_bind().dialect.name != "sqlite":
                # Several backend tasks may run upkeep at once: each takes its own rows.
                query = query.with_for_update(skip_locked=True)
            assets = list(session.scalars(query))
            if not assets or dry_run:
                purged.extend(a.id for a in assets)
                return purged
            ids = [a.id for a in assets]
            remove(session, storage, assets)
        purged.extend(ids)
        log.info("purged %d deleted assets (ids %s…)", len(ids), ids[:5])
        if len(assets) < batch:
            return purged


def remove(session: Session, storage: Storage, assets: list[Asset]) -> None:
    """Remove assets for good: their files from storage, then their rows (the caller's
    transaction commits)."""
    ids = [a.id for a in assets]
    for asset in assets:
        storage.delete(asset.storage_key)
    # Previews, posters, thumbnails…: their rows go with the asset (FK cascade), their
    # files here; an HLS rendition's segments share its playlist's folder.
    for kind, key in session.execute(select(Rendition.kind, Rendition.storage_key)
                                     .where(Rendition.asset_id.in_(ids))):
        if kind == "hls" and "/" in key:
            storage.delete_prefix(key.rsplit("/", 1)[0] + "/")
        else:
            storage.delete(key)
    search_index.remove(session, ids)
    session.execute(delete(Asset).where(Asset.id.in_(ids))
                    .execution_options(synchronize_session=False))
