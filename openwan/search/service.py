"""Search: full text (Chinese and English) with filters, facets and sorting, for one caller.

How a query runs, on every database alike:

1. The engine finds matching assets newest first, joined to ``assets`` so the access rule
   (``access.rules.visible_clause``) and every filter apply inside the query. It stops after
   ``window`` rows: the candidate window (default 1,000, ``OPENWAN_SEARCH_WINDOW``).
   SQLite's FTS5 delivers matches in id order and stops early by itself; on MySQL and
   PostgreSQL our own posting table does the same (``search.postings``).
2. Relevance is computed for those candidates only (the query's words counted, a title
   occurrence four times), so a word found in
   half a million documents costs about what a rare one does. Relevance therefore ranks the
   newest ``window`` matches: narrow a broad query to reach older material.
3. Counts and facets come from the window. When more than ``window`` assets match, ``total``
   is a lower bound and ``total_exact`` is false (as search engines say "1,000+"); a narrowed
   query's counts and facets are exact.

Sorting by title or duration asks the database for that order over all matches.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import weakref
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, extract, func, or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from openwan import cache
from openwan.access import rules
from openwan.assets import service as asset_service
from openwan.cache import flight
from openwan.config import Settings
from openwan.db import read_session_factory
from openwan.kit.errors import Unprocessable
from openwan.models import (
    Asset,
    AssetStatus,
    CatalogField,
    CatalogValue,
    Category,
    SearchDocument,
    User,
)
from openwan.search import engines
from openwan.search.tokens import Clause, Query, fold, parse_query

MAX_QUERY_CHARS = 1000
MAX_PAGE_SIZE = 100
SORTS = ("relevance", "newest", "oldest", "title", "duration", "-duration")
FIELD_PREFIX = "m."


@dataclass
class FieldFilter:
    group: str
    key: str
    value: str  # "x" exact (folded) or "a..b" range (either side may be empty)


@dataclass
class SearchParams:
    q: str = ""
    type: str | None = None
    category_id: int | None = None
    level: int | None = None
    status: str | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    duration_min: float | None = None
    duration_max: float | None = None
    codec: str | None = None
    min_height: int | None = None
    fields: list[FieldFilter] = field(default_factory=list)
    sort: str = "relevance"
    page: int = 1
    size: int = 20


@dataclass
class SearchResult:
    total: int
    total_exact: bool
    items: list[Asset]  # the page's assets (empty when not loaded: see ``ids``)
    facets: dict[str, dict[str, int]]
    category_names: dict[str, str] = field(default_factory=dict)
    ids: list[int] = field(default_factory=list)  # the page's asset ids, in order


def parse_date(value: str, name: str, *, end: bool = False) -> datetime:
    """ISO date or datetime; a bare date's ``to`` bound is the end of that day."""
    try:
        if re.fullmatch(r"\d{4}", value):
            d = date(int(value), 12, 31) if end else date(int(value), 1, 1)
            return datetime.combine(d, time.max if end else time.min, UTC)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return datetime.combine(date.fromisoformat(value), time.max if end else time.min,
                                    UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise Unprocessable(f"{name} must be an ISO date (YYYY-MM-DD) or date-time",
                            field=name) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _category_ids(session: Session, category_id: int) -> list[int]:
    category = session.get(Category, category_id)
    if category is None:
        raise Unprocessable(f"category {category_id} does not exist", field="category_id")
    return list(session.scalars(select(Category.id).where(
        Category.path.startswith(category.path, autoescape=True))))


def _field_clause(session: Session, flt: FieldFilter) -> ColumnElement[bool]:
    known = session.scalar(select(CatalogField.kind).where(
        CatalogField.group_key == flt.group, CatalogField.key == flt.key).limit(1))
    name = f"{FIELD_PREFIX}{flt.group}.{flt.key}"
    if known is None:
        raise Unprocessable(f"unknown catalogue field {flt.group}.{flt.key}", field=name)
    values = select(CatalogValue.asset_id).where(CatalogValue.group_key == flt.group,
                                                 CatalogValue.field_key == flt.key)
    if ".." in flt.value:
        low, _, high = flt.value.partition("..")
        if known == "number":
            try:
                bounds = [float(b) if b.strip() else None for b in (low, high)]
            except ValueError as exc:
                raise Unprocessable(f"{name}: a range of numbers is a..b", field=name) from exc
            column = CatalogValue.number
        else:
            bounds = [fold(b.strip()) or None for b in (low, high)]
            column = CatalogValue.value
        if bounds[0] is not None:
            values = values.where(column >= bounds[0])
        if bounds[1] is not None:
            values = values.where(column <= bounds[1])
    else:
        values = values.where(CatalogValue.value == fold(flt.value.strip()))
    return Asset.id.in_(values)


def _filters(session: Session, user: User, params: SearchParams) -> tuple[
        list[ColumnElement[bool]], bool]:
    """WHERE clauses for the caller's rights and the filters; and whether documents join."""
    clauses: list[ColumnElement[bool]] = [rules.visible_clause(user)]
    # Without ``status`` a search finds the published archive and the caller's own work in
    # progress (never the recycle bin); other states are asked for explicitly, and the access
    # rule decides what of those the caller may see.
    if params.status:
        clauses.append(Asset.status == params.status)
    else:
        clauses.append(or_(Asset.status == AssetStatus.published,
                           and_(Asset.uploaded_by == user.id,
                                Asset.status != AssetStatus.deleted)))
    if params.type:
        clauses.append(Asset.type == params.type)
    if params.level is not None:
        clauses.append(Asset.level == params.level)
    if params.category_id is not None:
        clauses.append(Asset.category_id.in_(_category_ids(session, params.category_id)))
    when = func.coalesce(Asset.published_at, Asset.created_at)
    if params.date_from:
        clauses.append(when >= params.date_from)
    if params.date_to:
        clauses.append(when <= params.date_to)
    needs_document = False
    if params.duration_min is not None:
        clauses.append(SearchDocument.duration >= params.duration_min)
        needs_document = True
    if params.duration_max is not None:
        clauses.append(SearchDocument.duration <= params.duration_max)
        needs_document = True
    if params.codec:
        clauses.append(SearchDocument.codec == fold(params.codec))
        needs_document = True
    if params.min_height is not None:
        clauses.append(SearchDocument.height >= params.min_height)
        needs_document = True
    for flt in params.fields:
        clauses.append(_field_clause(session, flt))
    return clauses, needs_document


def window_size() -> int:
    from openwan.config import get_settings

    return get_settings().catalog.search_window


def search(session: Session, user: User, params: SearchParams,
           window: int | None = None, *, load: bool = True) -> SearchResult:
    """What ``user`` may see that matches ``params``, one page of it, with counts and facets;
    the page's assets loaded unless ``load`` is false (then only their ids)."""
    if len(params.q) > MAX_QUERY_CHARS:
        raise Unprocessable(f"q is longer than {MAX_QUERY_CHARS} characters", field="q")
    if params.size > MAX_PAGE_SIZE or params.size < 1:
        raise Unprocessable(f"size must be between 1 and {MAX_PAGE_SIZE}", field="size")
    window = window or window_size()
    query = parse_query(params.q)
    if query.had_text and query.empty:
        # Only punctuation or operators: nothing can match them.
        return SearchResult(0, True, [], empty_facets())
    clauses, needs_document = _filters(session, user, params)
    has_text = not query.empty
    # Tokens for the type, category subtree, level and (rare) status filters: engines that
    # intersect posting lists cheaply narrow candidates with them; the SQL filters decide.
    tagged: list[Clause] = []
    if params.type:
        tagged.append(Clause([f"kt{params.type}"]))
    if params.category_id is not None:
        tagged.append(Clause([f"kc{params.category_id}"]))
    if params.level is not None:
        tagged.append(Clause([f"kl{params.level}"]))
    if params.status and params.status != AssetStatus.published:
        tagged.append(Clause([f"ks{params.status}"]))
    narrowed = Query(clauses=query.clauses + tagged, had_text=query.had_text)
    facts = {name: value for name, value in (("type", params.type), ("level", params.level))
             if value is not None}
    # Only the posting walk uses a ceiling: on SQLite it would cost a query for nothing.
    ceiling = _level_ceiling(session, user) if (
        has_text and params.level is None
        and engines.uses_postings(session.get_bind().dialect.name)) else None
    plan = _Plan(session, clauses, needs_document, has_text, facts,
                 {} if ceiling is None else {"level": ceiling})
    final = plan.statement(narrowed)
    rows = plan.run(final, params.sort, window + 1)
    exact = len(rows) <= window
    rows = rows[:window]
    score = final.score
    facets, names = _facets(session, rows)
    start = (params.page - 1) * params.size
    if params.sort in ("relevance", "newest", "oldest"):
        if params.sort == "relevance" and score is not None:
            rows = sorted(rows, key=lambda r: (-(r[5] or 0.0), -r[0]))
        ids = [r[0] for r in rows[start:start + params.size]]
    else:
        ids = _sorted_page(session, final.base, params, start, final.has_document)
    return SearchResult(len(rows), exact, _load(session, ids) if load else [], facets, names,
                        ids)


async def search_json(settings: Settings, user: User, params: SearchParams) -> bytes:
    """:func:`search` as the ``SearchPage`` JSON, cached for repeated queries.

    The result (counts, facets, the page's ids) is filed in the shared cache under the
    caller's version, the rights epoch, the listing epoch (any asset change) and the search
    epoch (any change to the index or the catalogue fields), so a change anywhere retires it;
    the page's items come from the row cache and the rendered body is kept in this process.
    Not with a read replica, whose lag could file an old result under a new version.
    """
    entities = cache.entities()
    key = token = None
    found: SearchResult | None = None
    if not settings.db.replica_url:
        tokens = entities.tokens([("user", user.id), ("rights", 0), ("listing", 0),
                                  ("search", 0)])
        if tokens is not None:
            token = "~".join(tokens)
            key = f"{user.id}:" + hashlib.blake2b(repr(params).encode(), digest_size=16
                                                   ).hexdigest()
            body = entities.body("search", key, token)
            if body is not None:
                return body
            (found,) = entities.lookup([("search", key, token, _result_from_bytes)])
    if found is None:
        async def run() -> SearchResult:
            async with _gate(settings.catalog.search_concurrency):
                result = await run_in_threadpool(_search_ids, settings, user, params)
            if token is not None:
                entities.store([("search", key, token, _result_to_bytes(result), result)])
            return result

        # The same query arriving many times at once (its entry just expired) runs once.
        found = await (flight.shared(("search", key, token), run) if token is not None
                       else run())
    items, cacheable = await asset_service.visible_items_json(settings, user, found.ids)
    body = b"".join((
        b'{"total":%d,"total_exact":%s,"items":[' % (
            found.total, b"true" if found.total_exact else b"false"),
        items,
        b'],"page":%d,"size":%d,"facets":' % (params.page, params.size),
        _json(found.facets), b',"category_names":', _json(found.category_names), b"}"))
    if token is not None and cacheable:
        entities.keep_body("search", key, token, body)  # type: ignore[arg-type]
    return body


# Per event loop (tests run several): the gate searches pass through.
_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = \
    weakref.WeakKeyDictionary()


def _gate(limit: int) -> asyncio.Semaphore:
    """At most ``limit`` searches at work at once, the rest queued in order of arrival.

    A search is mostly Python (building the statement, ranking, facets) and Python threads
    take turns on one interpreter lock: sixty-four searches in sixty-four threads finish no
    sooner in total than in four, but each of them waits for nearly all the others.
    """
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Semaphore(limit)
    return gate


def _search_ids(settings: Settings, user: User, params: SearchParams) -> SearchResult:
    with read_session_factory(settings)() as session:
        return search(session, user, params, settings.catalog.search_window, load=False)


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _result_to_bytes(result: SearchResult) -> bytes:
    return _json([result.total, result.total_exact, result.ids, result.facets,
                  result.category_names])


def _result_from_bytes(data: bytes) -> SearchResult:
    total, exact, ids, facets, names = json.loads(data)
    return SearchResult(total, exact, [], facets, names, ids)


def _level_ceiling(session: Session, user: User) -> int | None:
    """The highest asset level a text search can show ``user``: their clearance, which every
    branch of the access rule but one's own uploads enforces; None for administrators and
    for uploaders of live assets (those show whatever their level).

    The posting walk skips postings above it before probing any other token or reading any
    asset row: for a viewer of clearance 2 on levels 1 to 5, half the walk.
    """
    access = rules.access_of(user)
    if access.is_admin:
        return None
    uploads = session.scalar(select(Asset.id).where(
        Asset.uploaded_by == user.id, Asset.status != AssetStatus.deleted).limit(1))
    return access.clearance if uploads is None else None


@dataclass
class _Statement:
    base: Select  # the filtered match, without order or limit
    ranked: Select  # with the relevance score when there is text
    score: Any
    order_key: Any
    has_document: bool


class _Plan:
    """Builds and runs the candidate-window query for one search."""

    def __init__(self, session: Session, clauses: list, needs_document: bool,
                 has_text: bool, facts: dict[str, Any], ceilings: dict[str, Any]) -> None:
        self.session, self.facts, self.ceilings = session, facts, ceilings
        self.clauses, self.needs_document, self.has_text = clauses, needs_document, has_text
        # Row tuples (id, type, category, level, year[, score]), the year computed by the
        # database, so per-row Python work stays small.
        year = extract("year", func.coalesce(Asset.published_at, Asset.created_at))
        self.columns = [Asset.id, Asset.type, Asset.category_id, Asset.level,
                        year.label("year")]

    def statement(self, query: Query) -> _Statement:
        clauses = list(self.clauses)
        prefixes: tuple[str, ...] = ()
        if query.empty:
            source, joined = Asset.__table__, False
            score, order_key = None, Asset.id
        else:
            match = engines.full_text(self.session, query, self.facts, self.ceilings)
            source, joined = match.source, match.has_document
            clauses.insert(0, match.where)
            score, order_key, prefixes = match.score, match.order_key, match.prefixes
        if self.needs_document and not joined:
            source = source.join(SearchDocument.__table__, SearchDocument.asset_id == Asset.id)
            joined = True
        if not self.has_text:
            score = None  # filters only: newest first
        base = select(*self.columns).select_from(source).where(and_(*clauses))
        if prefixes:
            base = base.prefix_with(*prefixes, dialect="mysql")
        ranked = base.add_columns(score.label("score")) if score is not None else base
        return _Statement(base, ranked, score, order_key, joined)

    def run(self, statement: _Statement, sort: str, limit: int) -> list:
        order = statement.order_key.asc() if sort == "oldest" else statement.order_key.desc()
        return list(self.session.execute(statement.ranked.order_by(order).limit(limit)).all())


def _sorted_page(session: Session, base: Select, params: SearchParams, start: int,
                 has_document: bool) -> list[int]:
    stmt = base.with_only_columns(Asset.id)
    if params.sort == "title":
        stmt = stmt.order_by(Asset.title, Asset.id)
    else:
        if not has_document:
            stmt = stmt.join(SearchDocument.__table__, SearchDocument.asset_id == Asset.id)
        duration = SearchDocument.duration
        if params.sort == "duration":
            stmt = stmt.order_by(duration.is_(None), duration.asc(), Asset.id)
        else:
            stmt = stmt.order_by(duration.is_(None), duration.desc(), Asset.id)
    return list(session.scalars(stmt.offset(start).limit(params.size)))


def _load(session: Session, ids: list[int]) -> list[Asset]:
    if not ids:
        return []
    found = {a.id: a for a in session.scalars(select(Asset).where(Asset.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def empty_facets() -> dict[str, dict[str, int]]:
    return {"type": {}, "category": {}, "level": {}, "year": {}}


def _facets(session: Session, rows) -> tuple[dict[str, dict[str, int]], dict[str, str]]:
    """Counts per type, category, level and year ({value: count}, largest first), and the
    names of the counted categories."""
    columns = list(zip(*rows, strict=False)) or [(), (), (), (), ()]
    counters = {"type": Counter(columns[1]), "category": Counter(columns[2]),
                "level": Counter(columns[3]), "year": Counter(columns[4])}
    facets = {}
    for name, counter in counters.items():
        counter.pop(None, None)
        top = counter.most_common(50) if name == "category" else counter.most_common()
        facets[name] = {str(int(v) if name == "year" else v): n for v, n in top}
    labels: dict[str, str] = {}
    if facets["category"]:
        ids = [int(k) for k in facets["category"]]
        labels = {str(i): n for i, n in session.execute(
            select(Category.id, Category.name).where(Category.id.in_(ids))).all()}
    return facets, labels
