"""The two moments other domains hook into, called by the services that change assets.

- ``asset_changed(session, asset)``: inside the transaction, after any change to an asset's
  row (creation, edit, workflow transition, delete/restore). Index upkeep belongs here, so the
  search index changes in the same transaction as the asset.
- ``asset_created(settings, asset_id)``: after the transaction that created the asset has
  committed (never before, never from ORM hooks). The media pipeline enqueues its job here.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from openwan.config import Settings
from openwan.models import Asset

log = logging.getLogger("openwan.assets")


def asset_changed(session: Session, asset: Asset) -> None:
    """Keep derived data (the search index) in step with ``asset`` in this transaction."""


def asset_created(settings: Settings, asset_id: int) -> None:
    """The new asset's row is committed: start its processing."""
    from openwan.media.service import enqueue_asset

    # Writes the durable job row, then sends its message. The asset is already committed:
    # if this fails, the media reconciler finds the asset without a job and queues it, so
    # the upload itself still succeeds.
    try:
        enqueue_asset(settings, asset_id)
    except Exception:
        log.exception("could not queue processing for asset %s; the reconciler will", asset_id)
