"""Index upkeep: an asset's search document and catalogue values, in the caller's transaction.

``index_asset`` runs from ``assets.events.asset_changed`` after every change, so the index
never lags the row: an asset unpublished, rejected or deleted stops matching viewers' queries
in the same commit (the visibility rule is applied inside every search query as well).
``reindex`` rebuilds documents in bulk in the caller's transaction; ``reindex_all`` rebuilds
every asset's in batches of their own (``openwan reindex``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sqlalchemy import Connection, delete, insert, select, text, tuple_
from sqlalchemy.orm import Session

from openwan.config import Settings
from openwan.db import unit_of_work
from openwan.models import (
    Asset,
    AssetType,
    CatalogValue,
    Category,
    SearchDocument,
    SearchPosting,
)
from openwan.search import postings
from openwan.search.engines import uses_postings
from openwan.search.tokens import document_tokens, fold

MAX_BODY_CHARS = 60_000  # tokens text
# Posting keys per DELETE statement, rows per INSERT statement.
DELETE_BATCH = 5000
INSERT_BATCH = 20_000
_TYPES = {kind.value: f"'{kind.value}'" for kind in AssetType}
VALUE_CHARS = 191
# Technical facts worth finding by text (codec names, container, resolution labels).
TECHNICAL_TEXT_KEYS = ("video_codec", "audio_codec", "codec", "container", "format",
                       "format_name", "profile", "color_space", "pix_fmt")
CODEC_KEYS = ("video_codec", "codec", "audio_codec")


def category_chain(session: Session | None, category_id: int | None,
                   cache: dict[int, Any] | None = None) -> list[tuple[int, str]]:
    """(id, name) of a category and its ancestors, root first."""
    if category_id is None:
        return []
    if cache is not None:
        category = cache.get(category_id)
        if category is None:
            return []
        ids = [int(p) for p in category.path.strip("/").split("/") if p] or [category.id]
        return [(i, cache[i].name) for i in ids if i in cache]
    assert session is not None
    category = session.get(Category, category_id)
    if category is None:
        return []
    ids = [int(p) for p in category.path.strip("/").split("/") if p] or [category.id]
    names = dict(session.execute(select(Category.id, Category.name)
                                 .where(Category.id.in_(ids))).all())
    return [(i, names[i]) for i in ids if i in names]


def filter_tokens(asset: Any, chain: list[tuple[int, str]]) -> list[str]:
    """Tokens for the type, status, level and category (with ancestors) of an asset.

    Engines that intersect posting lists cheaply (SQLite FTS5) find filtered candidates
    through these instead of reading every row; the SQL filters still decide.
    """
    tokens = [f"kt{asset.type}", f"ks{asset.status}", f"kl{asset.level}"]
    tokens.extend(f"kc{cid}" for cid, _ in chain)
    return tokens


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _flat_values(value: Any) -> Iterator[Any]:
    if isinstance(value, list | tuple):
        for item in value:
            yield from _flat_values(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _flat_values(item)
    elif value is not None and value != "":
        yield value


def catalog_text(catalog: dict | None) -> list[str]:
    return [str(v) for v in _flat_values(catalog or {})]


def catalog_rows(asset_id: int, catalog: dict | None) -> list[dict[str, Any]]:
    """One row per short value of every field, folded for exact and range filters."""
    rows = []
    for group, fields in (catalog or {}).items():
        if not isinstance(fields, dict):
            continue
        for key, value in fields.items():
            for item in _flat_values(value):
                text = fold(str(item)).strip()
                if not text or len(text) > VALUE_CHARS:
                    continue
                rows.append({"asset_id": asset_id, "group_key": str(group)[:64],
                             "field_key": str(key)[:64], "value": text,
                             "number": _number(item)})
    return rows


def technical_facts(technical: dict | None) -> dict[str, Any]:
    technical = technical or {}
    duration = _number(technical.get("duration"))
    width = _number(technical.get("width"))
    height = _number(technical.get("height"))
    codec = next((str(technical[k]) for k in CODEC_KEYS if technical.get(k)), None)
    return {"duration": duration, "width": int(width) if width else None,
            "height": int(height) if height else None,
            "codec": fold(codec)[:32] if codec else None}


def technical_text(technical: dict | None) -> list[str]:
    technical = technical or {}
    words = [str(technical[k]) for k in TECHNICAL_TEXT_KEYS
             if isinstance(technical.get(k), str | int)]
    facts = technical_facts(technical)
    if facts["width"] and facts["height"]:
        words.append(f"{facts['width']}x{facts['height']} {facts['height']}p")
    return words


def document_row(asset: Any, chain: list[tuple[int, str]]) -> dict[str, Any]:
    """The ``search_documents`` row of an asset (any object with the asset's attributes)."""
    title = document_tokens(asset.title or "", asset.filename or "")
    body = document_tokens(" ".join(name for _, name in chain), *catalog_text(asset.catalog),
                           *technical_text(asset.technical))
    if len(body) > MAX_BODY_CHARS:
        body = body[:MAX_BODY_CHARS].rsplit(" ", 1)[0]
    body = " ".join([*filter_tokens(asset, chain), body]).strip()
    return {"asset_id": asset.id, "title_tokens": title, "body_tokens": body,
            **technical_facts(asset.technical)}


def posting_rows(asset: Any, document: dict[str, Any]) -> list[tuple[int, int, int, str, int]]:
    """The ``search_postings`` rows (token, asset id, weight, type, level) of an asset's
    document row (every database but SQLite)."""
    return [(token, asset.id, weight, asset.type, asset.level)
            for token, weight in postings.weights(document["title_tokens"],
                                                  document["body_tokens"]).items()]


def insert_postings(connection: Session | Connection,
                    rows: list[tuple[int, int, int, str, int]]) -> None:
    """Insert posting rows with their values written into the statement: a million rows
    take half the time of bound parameters. Only integers and the fixed asset type names
    are written (any other type is a KeyError), so nothing needs quoting."""
    for start in range(0, len(rows), INSERT_BATCH):
        values = ",".join(f"({int(token)},{int(asset_id)},{int(weight)},{_TYPES[kind]},"
                          f"{int(level)})"
                          for token, asset_id, weight, kind, level
                          in rows[start:start + INSERT_BATCH])
        statement = "INSERT INTO search_postings (token, asset_id, weight, type, level) VALUES "
        connection.execute(text(statement + values))


def index_asset(session: Session, asset: Asset) -> None:
    """Bring ``asset``'s search document and catalogue values up to date (flushes)."""
    row = document_row(asset, category_chain(session, asset.category_id))
    with_postings = uses_postings(session.get_bind().dialect.name)
    document = session.get(SearchDocument, asset.id)
    if document is None:
        session.add(SearchDocument(**row))
    else:
        if with_postings:
            _remove_postings(session, [(document.asset_id, document.title_tokens,
                                        document.body_tokens)])
        for key, value in row.items():
            if getattr(document, key) != value:
                setattr(document, key, value)
    if with_postings:
        insert_postings(session, posting_rows(asset, row))
    session.execute(delete(CatalogValue).where(CatalogValue.asset_id == asset.id))
    values = catalog_rows(asset.id, asset.catalog)
    if values:
        session.execute(insert(CatalogValue), values)
    session.flush()


def _remove_postings(session: Session, documents: Iterable[tuple[int, str, str]]) -> None:
    """Delete the postings of these (asset id, title tokens, body tokens) by primary key."""
    keys = [(token, asset_id) for asset_id, title, body in documents
            for token in postings.weights(title, body)]
    for start in range(0, len(keys), DELETE_BATCH):
        session.execute(delete(SearchPosting).where(
            tuple_(SearchPosting.token, SearchPosting.asset_id).in_(
                keys[start:start + DELETE_BATCH])))


def remove(session: Session, asset_ids: Iterable[int]) -> None:
    ids = list(asset_ids)
    if not ids:
        return
    if uses_postings(session.get_bind().dialect.name):
        _remove_postings(session, session.execute(
            select(SearchDocument.asset_id, SearchDocument.title_tokens,
                   SearchDocument.body_tokens).where(SearchDocument.asset_id.in_(ids))).all())
    session.execute(delete(CatalogValue).where(CatalogValue.asset_id.in_(ids)))
    session.execute(delete(SearchDocument).where(SearchDocument.asset_id.in_(ids)))


def reindex_all(settings: Settings, *, batch: int = 2000,
                progress: Callable[[int], None] | None = None) -> int:
    """Rebuild every asset's documents ``batch`` assets per transaction (``openwan reindex``);
    returns the count.

    One transaction over a million assets would hold the undo of every document and
    posting it rewrites until the end, and lose all of it on an interruption. Batches walk
    the ids upwards, so a run stopped half way can simply be run again; an asset created
    meanwhile is indexed by its own change hook either way.
    """
    done, last = 0, 0
    while True:
        with unit_of_work(settings) as session:
            ids = list(session.scalars(select(Asset.id).where(Asset.id > last)
                                       .order_by(Asset.id).limit(batch)))
            if not ids:
                return done
            done += reindex(session, ids, batch=batch)
        last = ids[-1]
        if progress is not None:
            progress(done)


def reindex(session: Session, asset_ids: Iterable[int] | None = None, *,
            batch: int = 2000) -> int:
    """Rebuild the documents of the given assets (all when None) in bulk; returns the count."""
    cache = {c.id: c for c in session.scalars(select(Category))}
    if asset_ids is None:
        ids = list(session.scalars(select(Asset.id).order_by(Asset.id)))
    else:
        ids = sorted(set(asset_ids))
    with_postings = uses_postings(session.get_bind().dialect.name)
    done = 0
    for start in range(0, len(ids), batch):
        chunk = ids[start:start + batch]
        assets = session.scalars(select(Asset).where(Asset.id.in_(chunk))).all()
        remove(session, chunk)
        docs, values, posted = [], [], []
        for asset in assets:
            doc = document_row(asset, category_chain(session, asset.category_id, cache))
            docs.append(doc)
            values.extend(catalog_rows(asset.id, asset.catalog))
            if with_postings:
                posted.extend(posting_rows(asset, doc))
        if docs:
            session.execute(insert(SearchDocument), docs)
        if values:
            session.execute(insert(CatalogValue), values)
        if posted:
            insert_postings(session, posted)
        done += len(assets)
        session.flush()
        session.expire_all()
    return done
