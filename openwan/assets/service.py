"""Assets: registering originals, reading and editing them. Services flush; the edge commits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openwan.access import audit, rules
from openwan.assets.events import asset_changed
from openwan.assets.ingest import Received
from openwan.kit.errors import Conflict, Forbidden, NotFound, Unprocessable
from openwan.models import Asset, AssetStatus, Category, MediaState, User

MAX_PAGE_SIZE = 200


def find_duplicate(session: Session, sha256: str) -> Asset | None:
    return session.scalar(
        select(Asset).where(Asset.sha256 == sha256, Asset.status != AssetStatus.deleted)
        .order_by(Asset.id).limit(1))


def check_category(session: Session, category_id: int | None) -> None:
    if category_id is not None and session.get(Category, category_id) is None:
        raise Unprocessable(f"category {category_id} does not exist", field="category_id")


def ensure_not_duplicate(session: Session, sha256: str, keep_duplicate: bool,
                         user: User | None = None) -> None:
    if keep_duplicate:
        return
    existing = find_duplicate(session, sha256)
    if existing is not None:
        if user is not None and not rules.can_view(user, existing):
            # Name no asset the uploader may not see.
            raise Conflict("the same file is already in OpenWan", code="duplicate")
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
    audit.record(session, "asset.upload", actor=user, target=("asset", asset.id),
                 detail={"filename": asset.filename, "size": asset.size,
                         "category_id": category_id})
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


def check_category_use(session: Session, user: User, category_id: int | None) -> None:
    """The category exists and the caller may file assets under it."""
    check_category(session, category_id)
    if not rules.can_use_category(user, category_id):
        raise Forbidden(f"you may not file assets under category {category_id}",
                        code="category_not_allowed")


def update(session: Session, user: User, asset: Asset, changes: dict[str, Any]) -> Asset:
    """Edit title, category, metadata: 403 without the right, 409 in a state not editable."""
    states = rules.edit_states(user, asset)
    if not states:
        raise Forbidden("editing another user's asset needs asset.catalog",
                        code="permission_denied")
    if asset.status not in states:
        raise Conflict(f"this asset cannot be edited while {asset.status}",
                       code="invalid_state")
    before = {"title": asset.title, "category_id": asset.category_id, "metadata": asset.catalog}
    if "title" in changes and changes["title"] is not None:
        asset.title = changes["title"].strip()
    if "category_id" in changes and changes["category_id"] != asset.category_id:
        check_category_use(session, user, changes["category_id"])
        asset.category_id = changes["category_id"]
    if changes.get("metadata") is not None:
        asset.catalog = changes["metadata"]
    session.flush()
    asset_changed(session, asset)
    after = {"title": asset.title, "category_id": asset.category_id, "metadata": asset.catalog}
    audit.record(session, "asset.update", actor=user, target=("asset", asset.id),
                 detail=audit.changes(before, after))
    return asset


def soft_delete(session: Session, user: User, asset: Asset) -> Asset:
    """Move to the recycle bin (the workflow's ``delete``)."""
    from openwan.workflow import service as workflow

    return workflow.delete(session, user, asset)
