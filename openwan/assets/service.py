"""Assets: registering originals, reading and editing them. Services flush; the edge commits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openwan.access import rules
from openwan.assets.events import asset_changed
from openwan.assets.ingest import Received
from openwan.kit.errors import Conflict, NotFound, Unprocessable
from openwan.models import Asset, AssetStatus, Category, MediaState, User

MAX_PAGE_SIZE = 200


def find_duplicate(session: Session, sha256: str) -> Asset | None:
    return session.scalar(
        select(Asset).where(Asset.sha256 == sha256, Asset.status != AssetStatus.deleted)
        .order_by(Asset.id).limit(1))


def check_category(session: Session, category_id: int | None) -> None:
    if category_id is None:
        return
    category = session.get(Category, category_id)
    if category is None:
        raise Unprocessable(f"category {category_id} does not exist", field="category_id")
    if not category.enabled:
        raise Unprocessable(f"category {category_id} is disabled", field="category_id")


def ensure_not_duplicate(session: Session, sha256: str, keep_duplicate: bool) -> None:
    if keep_duplicate:
        return
    existing = find_duplicate(session, sha256)
    if existing is not None:
        raise Conflict(f"the same file was already uploaded as asset {existing.id}",
                       code="duplicate", asset_id=existing.id)


def register(session: Session, received: Received, *, user: User, title: str | None = None,
             category_id: int | None = None) -> Asset:
    """Record a complete, durable original as a new asset (status ``new``, media ``queued``)."""
    check_category(session, category_id)
    asset = Asset(
        type=received.sniffed.kind,
        title=(title or "").strip()[:512] or received.filename,
        filename=received.filename,
        extension=received.sniffed.extension,
        size=received.size,
        sha256=received.sha256,
        mime_type=received.sniffed.mime,
        storage_key=received.key,
        status=AssetStatus.new,
        media_state=MediaState.queued,
        level=1,
        groups="all",
        download=False,
        category_id=category_id,
        catalog={},
        technical={},
        uploaded_by=user.id,
    )
    session.add(asset)
    session.flush()
    asset_changed(session, asset)
    return asset


def get_visible(session: Session, user: User, asset_id: int) -> Asset:
    """The asset if the caller may see it; otherwise 404, never 403 (no existence leak)."""
    asset = session.get(Asset, asset_id)
    if asset is None or not rules.can_view(user, asset):
        raise NotFound(f"asset {asset_id} not found")
    return asset


def list_visible(session: Session, user: User, *, page: int, size: int,
                 filters: dict[str, Any]) -> tuple[int, list[Asset]]:
    query = select(Asset).where(rules.visible_clause(user))
    for column in ("type", "status", "media_state", "category_id"):
        if filters.get(column) is not None:
            query = query.where(getattr(Asset, column) == filters[column])
    if filters.get("status") is None:
        query = query.where(Asset.status != AssetStatus.deleted)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Asset.created_at.desc(), Asset.id.desc())
                           .offset((page - 1) * size).limit(size)).all()
    return total, list(rows)


def update(session: Session, user: User, asset: Asset, changes: dict[str, Any]) -> Asset:
    if not rules.can_edit(user, asset):
        raise Conflict("this asset cannot be edited in its current state or by this user")
    if "title" in changes and changes["title"] is not None:
        asset.title = changes["title"].strip()
    if "category_id" in changes and changes["category_id"] != asset.category_id:
        check_category(session, changes["category_id"])
        asset.category_id = changes["category_id"]
    if changes.get("metadata") is not None:
        from openwan.catalog.fields import validate

        # Merged into the stored metadata and checked against the type's catalogue schema.
        asset.catalog = validate(session, asset.type, changes["metadata"], asset.catalog)
    session.flush()
    asset_changed(session, asset)
    return asset


def soft_delete(session: Session, user: User, asset: Asset) -> Asset:
    if not (user.is_admin or asset.uploaded_by == user.id):
        raise NotFound(f"asset {asset.id} not found")
    if asset.status == AssetStatus.deleted:
        raise Conflict("asset is already deleted")
    asset.status = AssetStatus.deleted
    session.flush()
    asset_changed(session, asset)
    return asset
