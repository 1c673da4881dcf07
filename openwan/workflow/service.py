"""The OpenWan workflow: new → pending (submit) → published (approve) or rejected (reject);
deleted is the recycle bin (delete, restore; purge removes for good).

Each transition checks, in this order: the caller may see the asset (else 404, never
revealing it exists), holds the right for the action (403), and the asset is in a state the
action applies to (409). Every transition calls the search index hook and is audited.
The bulk actions of the catalogue call these same functions, one asset at a time.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from openwan.access import audit, rights, rules
from openwan.access import permissions as P
from openwan.assets.events import asset_changed
from openwan.kit.errors import Conflict, Forbidden, NotFound, Unprocessable
from openwan.models import Asset, AssetStatus, User, utcnow
from openwan.storage import Storage

MAX_COMMENT = 2000


def _visible(user: User, asset: Asset) -> None:
    if not rules.can_view(user, asset):
        raise NotFound(f"asset {asset.id} not found")


def _state(asset: Asset, allowed: tuple[str, ...], action: str) -> None:
    if asset.status not in allowed:
        raise Conflict(f"cannot {action} an asset that is {asset.status} (only "
                       f"{' or '.join(allowed)})", code="invalid_state", status_now=asset.status)


def _rights_of(asset: Asset) -> dict[str, Any]:
    return {"status": asset.status, "level": asset.level, "groups": asset.groups,
            "download": asset.download}


def _done(session: Session, user: User, asset: Asset, action: str, before: dict[str, Any],
          **extra: Any) -> Asset:
    session.flush()
    asset_changed(session, asset)
    detail = audit.changes(before, _rights_of(asset))
    detail.update(extra)
    audit.record(session, f"asset.{action}", actor=user, target=("asset", asset.id),
                 detail=detail)
    return asset


def submit(session: Session, user: User, asset: Asset) -> Asset:
    """Send for review (new or sent back → pending): the uploader or a cataloguer."""
    _visible(user, asset)
    if asset.uploaded_by != user.id and not rules.can_manage(user, asset, P.ASSET_CATALOG):
        raise Forbidden("submitting needs asset.catalog or being the uploader",
                        code="permission_denied")
    _state(asset, (AssetStatus.new, AssetStatus.rejected), "submit")
    _require_catalogue(session, asset)
    before = _rights_of(asset)
    asset.status = AssetStatus.pending
    return _done(session, user, asset, "submit", before)


# The original OpenWan's title is the catalogue's 正题名 (proper title): left empty, it takes
# the asset's title rather than blocking the submission.
TITLE_FIELD = ("题名", "正题名")


def _require_catalogue(session: Session, asset: Asset) -> None:
    """Every enabled required catalogue field has a value before review (422 naming them)."""
    from openwan.catalog.fields import missing_required

    missing = missing_required(session, asset.type, asset.catalog)
    group, field = TITLE_FIELD
    if f"{group}.{field}" in missing and asset.title:
        asset.catalog = {**(asset.catalog or {}),
                         group: {**((asset.catalog or {}).get(group) or {}), field: asset.title}}
        missing.remove(f"{group}.{field}")
    if missing:
        raise Unprocessable("fill in the required catalogue fields before submitting: "
                            + ", ".join(missing), field=f"metadata.{missing[0]}",
                            missing=missing)


def approve(session: Session, user: User, asset: Asset, *, level: int | None = None,
            groups: Any = None, download: bool | None = None) -> Asset:
    """Publish (pending → published), setting level, allowed groups and the download flag.

    Omitted values keep the asset's current ones.
    """
    _visible(user, asset)
    if not rules.can_manage(user, asset, P.ASSET_REVIEW):
        raise Forbidden("approving needs asset.review", code="permission_denied")
    _state(asset, (AssetStatus.pending,), "approve")
    if level is not None:
        rights.check_assignable_level(session, level)
    if groups is not None and groups != "all":
        if not isinstance(groups, list) or not groups:
            raise Unprocessable('groups must be "all" or a non-empty list of group ids',
                                field="groups")
        groups = rights.check_groups_exist(session, groups)
    before = _rights_of(asset)
    if level is not None:
        asset.level = level
    if groups is not None:
        asset.groups = groups
    if download is not None:
        asset.download = bool(download)
    asset.status = AssetStatus.published
    asset.published_at = utcnow()
    asset.published_by = user.id
    asset.review_comment = None
    return _done(session, user, asset, "approve", before)


def reject(session: Session, user: User, asset: Asset, *, comment: str) -> Asset:
    """Send back to cataloguing (pending → rejected) with a comment shown on the asset."""
    _visible(user, asset)
    if not rules.can_manage(user, asset, P.ASSET_REVIEW):
        raise Forbidden("sending back needs asset.review", code="permission_denied")
    comment = (comment or "").strip()
    if not comment or len(comment) > MAX_COMMENT:
        raise Unprocessable(f"a comment of 1 to {MAX_COMMENT} characters says what to fix",
                            field="comment")
    _state(asset, (AssetStatus.pending,), "reject")
    before = _rights_of(asset)
    asset.status = AssetStatus.rejected
    asset.review_comment = comment
    return _done(session, user, asset, "reject", before, comment=comment)


def delete(session: Session, user: User, asset: Asset) -> Asset:
    """Move to the recycle bin: with asset.delete, or the uploader while the asset is new."""
    _visible(user, asset)
    manager = rules.can_manage(user, asset, P.ASSET_DELETE)
    if not manager and asset.uploaded_by != user.id:
        raise Forbidden("deleting needs asset.delete", code="permission_denied")
    if manager:
        _state(asset, rules.LIVE, "delete")
    else:
        _state(asset, (AssetStatus.new,), "delete (as its uploader)")
    before = _rights_of(asset)
    asset.previous_status = asset.status
    asset.status = AssetStatus.deleted
    return _done(session, user, asset, "delete", before)


def restore(session: Session, user: User, asset: Asset) -> Asset:
    """Take out of the recycle bin, back to the status it had (or new)."""
    _visible(user, asset)
    if not rules.can_manage(user, asset, P.ASSET_DELETE):
        raise Forbidden("restoring needs asset.delete", code="permission_denied")
    _state(asset, (AssetStatus.deleted,), "restore")
    before = _rights_of(asset)
    previous = asset.previous_status
    asset.status = previous if previous in rules.LIVE else AssetStatus.new
    asset.previous_status = None
    return _done(session, user, asset, "restore", before)


def purge(session: Session, user: User, asset: Asset, storage: Storage) -> None:
    """Remove an asset from the recycle bin for good (files, then rows): asset.delete, and
    the asset must be in the bin. Audited with what identified it, as nothing else is left."""
    from openwan.catalog.purge import remove

    _visible(user, asset)
    if not rules.can_manage(user, asset, P.ASSET_DELETE):
        raise Forbidden("purging needs asset.delete", code="permission_denied")
    _state(asset, (AssetStatus.deleted,), "purge")
    audit.record(session, "asset.purge", actor=user, target=("asset", asset.id),
                 detail={"title": asset.title, "filename": asset.filename,
                         "sha256": asset.sha256, "size": asset.size})
    remove(session, storage, [asset])
    session.expunge(asset)
