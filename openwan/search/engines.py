"""The per-database pieces of a search: matching, relevance, and the candidates' order.

Every engine receives the same parsed query (``tokens.Query``) made of opaque ``[a-z0-9]``
tokens, so user input never reaches an engine's query syntax: quotes, ``NEAR(``, ``*``,
``AND NOT`` or SQL are already words or gone by the time a query string is built here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    and_,
    column,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
    true,
)
from sqlalchemy.orm import Session

from openwan.models import Asset, SearchDocument, SearchPosting
from openwan.search import postings
from openwan.search.postings import TITLE_WEIGHT
from openwan.search.tokens import Query

_FTS = table("fts_search", column("rowid"))
_DOC = SearchDocument.__table__
_SPACE = literal_column("' '")
_FIXED_WIDTH = frozenset("yz")  # bigram and unigram tokens (``tokens.bigram``, ``unigram``)


def fts5_query(query: Query) -> str:
    parts = []
    for clause in query.clauses:
        if clause.prefix:
            parts.append(f"{clause.tokens[0]}*")
        else:
            parts.append('"' + " ".join(clause.tokens) + '"')
    return " AND ".join(parts)


@dataclass
class Match:
    source: FromClause  # what to select from (joined to assets)
    where: ColumnElement[bool]
    score: ColumnElement[float] | None
    order_key: ColumnElement  # the newest-first key the engine can deliver cheaply
    has_document: bool  # ``search_documents`` is part of ``source``
    prefixes: tuple[str, ...] = ()  # SELECT options (join order on MySQL)


def uses_postings(dialect: str) -> bool:
    """Every database but SQLite searches OpenWan's own posting table (``search.postings``):
    FTS5 stops early by itself, InnoDB's FULLTEXT and PostgreSQL's GIN read every match."""
    return dialect != "sqlite"


def full_text(session: Session, query: Query, facts: dict[str, Any] | None = None,
              ceilings: dict[str, Any] | None = None) -> Match:
    """The joinable source, WHERE clause and relevance score for ``query`` on the session's
    database. ``facts`` (``type``, ``level``) are values every match has and ``ceilings``
    (``level``) bounds every match stays within, which an engine may check early; the
    caller's WHERE clause still decides."""
    dialect = session.get_bind().dialect.name
    if not uses_postings(dialect):
        source = _FTS.join(Asset.__table__, Asset.id == _FTS.c.rowid).join(
            _DOC, _DOC.c.asset_id == _FTS.c.rowid)
        where = text("fts_search MATCH :fts_q").bindparams(fts_q=fts5_query(query))
        return Match(source, where, _counted_score(query), _FTS.c.rowid, True)
    return _postings_match(session, query, facts or {}, ceilings or {}, dialect)


def _counted_score(query: Query) -> ColumnElement[float]:
    """Relevance from the candidate's document text: every occurrence of a query word counts
    once in the body and ``TITLE_WEIGHT`` times in the title, as the postings' weights.

    Not FTS5's bm25(): its document frequencies come from reading every match of every
    phrase, filter tags included, so it costs more the commoner the words are.
    """
    needles = []
    for clause in query.clauses:
        if clause.prefix:
            needles.append(" " + clause.tokens[0])
        else:
            # Bigrams and unigrams have one fixed width each, so no token continues them: no
            # closing space, and one repeated back to back counts every time. A word does
            # not: replace() does not overlap, and a word repeated back to back counts once.
            needles.extend(f" {token}" if token[0] in _FIXED_WIDTH else f" {token} "
                           for token in clause.tokens if not postings.Terms.is_filter(token))
    if not needles:
        return literal_column("0")

    def count(column: ColumnElement[str], needle: str) -> ColumnElement[float]:
        spaced = _SPACE.concat(column).concat(_SPACE)
        return (func.length(spaced) - func.length(func.replace(spaced, needle, ""))) / len(needle)

    terms = [count(_DOC.c.title_tokens, n) * TITLE_WEIGHT + count(_DOC.c.body_tokens, n)
             for n in dict.fromkeys(needles)]
    return sum(terms[1:], terms[0])


def _contains(text: ColumnElement[str], pattern: str, dialect: str) -> ColumnElement[bool]:
    """``text LIKE pattern``. On PostgreSQL the same test as ``strpos() > 0`` (the pattern
    without its outer ``%``; tokens hold no ``%`` or ``_``): the planner takes a long LIKE
    pattern for a very rare match and would drive the search from a scan of every document,
    where ``strpos`` gets its default estimate and the postings walk stays first."""
    if dialect == "postgresql":
        return func.strpos(text, pattern[1:-1]) > 0
    return text.like(pattern)


def _postings_match(session: Session, query: Query, facts: dict[str, Any],
                    ceilings: dict[str, Any], dialect: str) -> Match:
    """Walk the sparsest token's postings newest first, keeping those with the asked type and
    level and within the level ceiling; probe the other words by key; then read the asset row
    (access rule, filters); then probe the driver's phrase companions and check phrases and
    long prefixes on the document text. STRAIGHT_JOIN keeps MySQL to that order; PostgreSQL
    has no such hint: its probes are LATERAL subqueries (see ``probe``), and it places the
    asset row from the token statistics migration 0009 deepens (see ``_contains`` too).
    Filter tags are not probed: the asset row answers them."""
    wanted = postings.terms(query)
    ordered = postings.sparsest_first(session, wanted.tokens)
    lead = ordered[0]
    companions = wanted.companions(lead)
    before = [t for t in ordered[1:] if t not in companions and not postings.Terms.is_filter(t)]
    after = [t for t in ordered[1:] if t in companions]
    driver = SearchPosting.__table__.alias("p0")
    source: FromClause = driver
    joined = {lead: driver}

    def probe(source: FromClause, token: str) -> FromClause:
        name = f"p{len(joined)}"
        posting = SearchPosting.__table__.alias(name)
        on = and_(posting.c.token == postings.key(token), posting.c.asset_id == driver.c.asset_id)
        if dialect != "postgresql":
            joined[token] = posting
            return source.join(posting, on)
        # PostgreSQL has no join-order hint, and from two common tokens' statistics it picks
        # a hash or merge join that reads both posting lists whole. A LATERAL subquery it
        # may not flatten (OFFSET 0) can only run as a probe per driver posting, in the
        # driver's order, so the walk still stops after the window.
        lateral = select(posting.c.weight).where(on).offset(0).lateral(name)
        joined[token] = lateral
        return source.join(lateral, true())

    for token in before:
        source = probe(source, token)
    source = source.join(Asset.__table__, Asset.id == driver.c.asset_id)
    for token in after:
        source = probe(source, token)
    where = [driver.c.token == postings.key(lead)]
    where.extend(driver.c[name] == value for name, value in facts.items())
    where.extend(driver.c[name] <= value for name, value in ceilings.items())
    if wanted.patterns:
        source = source.join(_DOC, _DOC.c.asset_id == driver.c.asset_id)
        title = _SPACE.concat(_DOC.c.title_tokens).concat(_SPACE)
        body = _SPACE.concat(_DOC.c.body_tokens).concat(_SPACE)
        where.extend(or_(_contains(title, p, dialect), _contains(body, p, dialect))
                     for p in wanted.patterns)
    weights = [posting.c.weight for token, posting in joined.items() if token in wanted.scored]
    score = sum(weights[1:], weights[0]) if weights else None
    return Match(source, and_(*where), score, driver.c.asset_id, bool(wanted.patterns),
                 ("STRAIGHT_JOIN",))
