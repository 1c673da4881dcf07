"""Assets: registering originals, reading and editing them. Services flush; the edge commits."""

from __future__ import annotations

import functools
import operator
from collections.abc import Awaitable
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from openwan import cache
from openwan.access import audit, rules
from openwan.assets.events import asset_changed
from openwan.assets.ingest import Received
from openwan.cache import flight, rows
from openwan.config import Settings
from openwan.kit.errors import Conflict, Forbidden, NotFound, Unprocessable
from openwan.models import Asset, AssetStatus, Category, MediaState, User

# Listing filters that may match few assets, and that ``ix_assets_listing`` cannot test
# (type, media state) or can only test by walking all of it (category).
NARROWING_FILTERS = ("type", "media_state", "category_id")


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


def _asset_entry(asset: Asset) -> tuple[Asset, bytes]:
    from openwan.assets.schemas import AssetOut

    return asset, AssetOut.model_validate(asset).model_dump_json().encode()


def _load_asset_row(settings: Settings, asset_id: int) -> bytes | None:
    from openwan.db import session_factory

    # The primary, not a replica: the row is cached under the version read before, and a
    # lagging replica would file an old row under the new version.
    with session_factory(settings)() as session:
        asset = session.get(Asset, asset_id)
        return rows.encode(asset) if asset is not None else None


async def get_visible_json(settings: Settings, user: User, asset_id: int,
                           token: str | None = None) -> bytes:
    """The asset's JSON if ``user`` may see it, else 404 — from the row cache when warm.

    Rights are checked on every call, against the cached row, with ``rules.can_view``; the
    cache is invalidated after commit whenever the row changes (``openwan.cache.entities``).
    ``token``: the row's cache version when the caller already read it.
    """
    entities = cache.entities()
    decode = _decode_asset_entry
    if token is not None:
        tokens: list[str] | None = [token]
        (entry,) = entities.lookup([("asset", asset_id, token, decode)])
    else:
        (entry,), tokens = entities.get_many("asset", [asset_id], decode)
    if entry is None:
        async def load() -> tuple[Asset, bytes] | None:
            data = await run_in_threadpool(_load_asset_row, settings, asset_id)
            if data is None:
                return None
            loaded = _asset_entry(rows.restore(Asset, data))
            if tokens is not None:
                entities.put_many("asset", [(asset_id, tokens[0], data, loaded)])
            return loaded

        entry = await (flight.shared(("asset", asset_id, tokens[0]), load)
                       if tokens is not None else load())
    if entry is None or not rules.can_view(user, entry[0]):
        raise NotFound(f"asset {asset_id} not found")
    return entry[1]


def _decode_asset_entry(data: bytes) -> tuple[Asset, bytes]:
    return _asset_entry(rows.restore(Asset, data))


def _filter_clauses(filters: dict[str, Any]) -> list[ColumnElement[bool]]:
    clauses = [getattr(Asset, column) == filters[column]
               for column in ("type", "status", "media_state", "category_id")
               if filters.get(column) is not None]
    if filters.get("status") is None:
        clauses.append(Asset.status != AssetStatus.deleted)
    return clauses


def _listing_statements(user: User, filters: dict[str, Any], page: int,
                        size: int) -> tuple[Select, Select]:
    """The total and the page's ids of what ``user`` may see, newest first.

    The total adds up one count per branch of the rule (``rules.visible_branches``): each is
    an index range, where one count of the whole OR would test every row. The page walks
    ``ix_assets_listing`` newest first, testing the rule on each entry without reading the
    row. MySQL is told to (it would merge the branches' indexes, read every row and sort),
    except under a filter that narrows the listing to few rows: then its own choice, the
    filter's index and a sort, beats walking the whole listing index.
    """
    where = _filter_clauses(filters)
    branches = rules.visible_branches(user)
    if branches is None:
        total = select(func.count()).select_from(Asset).where(*where)
        ids = select(Asset.id).where(*where)
    else:
        counts = [select(func.count()).select_from(Asset).where(branch, *where)
                  .scalar_subquery() for branch in branches]
        total = select(functools.reduce(operator.add, counts))
        ids = select(Asset.id).where(or_(*branches), *where)
        if not any(filters.get(column) is not None for column in NARROWING_FILTERS):
            for dialect in ("mysql", "mariadb"):
                ids = ids.with_hint(Asset, "FORCE INDEX (ix_assets_listing)", dialect)
    ids = (ids.order_by(Asset.created_at.desc(), Asset.id.desc())
           .offset((page - 1) * size).limit(size))
    return total, ids


def list_visible(session: Session, user: User, *, page: int, size: int,
                 filters: dict[str, Any]) -> tuple[int, list[Asset]]:
    total_query, ids_query = _listing_statements(user, filters, page, size)
    total = session.scalar(total_query) or 0
    ids = session.scalars(ids_query).all()
    if not ids:
        return total, []
    found = {a.id: a for a in session.scalars(select(Asset).where(Asset.id.in_(ids)))}
    return total, [found[asset_id] for asset_id in ids if asset_id in found]


def _visible_ids(settings: Settings, user: User, page: int, size: int,
                 filters: dict[str, Any]) -> tuple[int, list[int]]:
    from openwan.db import get_read_engine

    total_query, ids_query = _listing_statements(user, filters, page, size)
    # Two plain statements on a connection: a Session would double the cost of this read.
    with get_read_engine(settings).connect() as conn:
        total = conn.execute(total_query).scalar() or 0
        ids = conn.execute(ids_query).scalars().all()
    return total, list(ids)


def _load_asset_rows(settings: Settings, ids: list[int]) -> dict[int, bytes]:
    from openwan.db import session_factory

    with session_factory(settings)() as session:  # the primary: see _load_asset_row
        found = session.scalars(select(Asset).where(Asset.id.in_(ids))).all()
        return {asset.id: rows.encode(asset) for asset in found}


async def list_visible_json(settings: Settings, user: User, *, page: int, size: int,
                            filters: dict[str, Any]) -> bytes:
    """A page of the assets ``user`` may see as the list JSON, in a fixed number of queries:
    the count, the page's ids (both with the visibility rule in SQL), and one query for the
    rows missing from the row cache; each item's JSON comes from the cache.

    The page's total and ids are cached too (kind ``page``), filed under the caller's version,
    the rights epoch and the listing epoch (moved by any asset change): a warm page needs no
    query. Not with a read replica, whose lag could file an old page under a new version.
    The rendered page is kept as well (``EntityCache.body``), under the same versions.
    """
    import json

    entities = cache.entities()
    page_key = page_token = None
    cached = None
    if not settings.db.replica_url:
        tokens = entities.tokens([("user", user.id), ("rights", 0), ("listing", 0)])
        if tokens is not None:
            page_token = "~".join(tokens)
            page_key = ":".join(str(v) for v in (
                user.id, page, size, *(filters.get(k) for k in sorted(filters))))
            body = entities.body("list", page_key, page_token)
            if body is not None:
                return body
            (cached,) = entities.lookup([("page", page_key, page_token, json.loads)])
    if cached is not None:
        total, ids = cached
    else:
        async def load_page() -> list:
            found = await run_in_threadpool(_visible_ids, settings, user, page, size, filters)
            if page_token is not None:
                entities.store([("page", page_key, page_token,
                                 json.dumps(found).encode(), list(found))])
            return list(found)

        # Concurrent requests for the page (its entry just expired) share one query.
        total, ids = await (flight.shared(("page", page_key, page_token), load_page)
                            if page_token is not None else load_page())
    items, cacheable = await visible_items_json(settings, user, ids)
    head = json.dumps({"total": total, "page": page, "size": size})[:-1].encode()
    body = head + b',"items":[' + items + b"]}"
    if page_token is not None and cacheable:
        # Every part of the body was read under the page's versions (an asset's change moves
        # the listing epoch), so the rendered page is filed under them too.
        entities.keep_body("list", page_key, page_token, body)
    return body


async def visible_items_json(settings: Settings, user: User, ids: list[int]
                             ) -> tuple[bytes, bool]:
    """The comma-joined JSON (``AssetOut``) of those of ``ids`` the caller may see, in order,
    from the row cache (one query for the rows it misses); and whether the cache answered
    (False while Redis is unreachable: then nothing built from it may be cached)."""
    entities = cache.entities()
    entries, tokens = entities.get_many("asset", ids, _decode_asset_entry)
    missing = [asset_id for asset_id, entry in zip(ids, entries, strict=True) if entry is None]
    if missing:
        def load_rows() -> Awaitable[dict[int, bytes]]:
            return run_in_threadpool(_load_asset_rows, settings, missing)

        loaded = await (load_rows() if tokens is None else flight.shared(
            ("assets", tuple(missing), tuple(t for t, e in zip(tokens, entries, strict=True)
                                             if e is None)), load_rows))
        fresh = []
        for n, asset_id in enumerate(ids):
            if entries[n] is None and asset_id in loaded:
                entries[n] = _asset_entry(rows.restore(Asset, loaded[asset_id]))
                if tokens is not None:
                    fresh.append((asset_id, tokens[n], loaded[asset_id], entries[n]))
        entities.put_many("asset", fresh)
    # The SQL rule chose the ids; the cached rows are checked again with the same rule.
    items = b",".join(e[1] for e in entries if e is not None and rules.can_view(user, e[0]))
    return items, tokens is not None


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
        from openwan.catalog.fields import validate

        # Merged into the stored metadata and checked against the type's catalogue schema.
        asset.catalog = validate(session, asset.type, changes["metadata"], asset.catalog)
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
