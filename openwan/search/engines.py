"""The per-database pieces of a search: matching, relevance, and the candidates' order.

Every engine receives the same parsed query (``tokens.Query``) made of opaque ``[a-z0-9]``
tokens, so user input never reaches an engine's query syntax: quotes, ``NEAR(``, ``*``,
``AND NOT`` or SQL are already words or gone by the time a query string is built here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, FromClause, column, func, literal_column, table, text
from sqlalchemy.dialects.mysql import match as mysql_match

from openwan.models import Asset, SearchDocument
from openwan.search.tokens import Query, bucketed

# Title and file-name hits weigh more than category, catalogue and technical text.
TITLE_WEIGHT = 4.0

_FTS = table("fts_search", column("rowid"))
_DOC = SearchDocument.__table__
# Exactly the expression of the migration's GIN index, so PostgreSQL can use it.
_PG_VECTOR = literal_column(
    "(setweight(to_tsvector('simple'::regconfig, search_documents.title_tokens), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, search_documents.body_tokens), 'B'))")
_PG_CONFIG = literal_column("'simple'::regconfig")
_PG_SAFE = re.compile(r"^[a-z0-9 &|()<>:*-]+$")


def fts5_query(query: Query) -> str:
    parts = []
    for clause in query.clauses:
        if clause.prefix:
            parts.append(f"{clause.tokens[0]}*")
        else:
            parts.append('"' + " ".join(clause.tokens) + '"')
    return " AND ".join(parts)


def mysql_query(query: Query, bucket: int | None = None) -> str:
    def tag(token: str) -> str:
        return token if bucket is None else bucketed(token, bucket)

    parts = []
    for clause in query.clauses:
        if clause.prefix:
            parts.append(f"+{tag(clause.tokens[0])}*")
        elif len(clause.tokens) == 1:
            parts.append(f"+{tag(clause.tokens[0])}")
        else:
            parts.append('+"' + " ".join(tag(t) for t in clause.tokens) + '"')
    return " ".join(parts)


def pg_query(query: Query) -> str:
    parts = []
    for clause in query.clauses:
        if clause.prefix:
            parts.append(f"{clause.tokens[0]}:*")
        elif len(clause.tokens) == 1:
            parts.append(clause.tokens[0])
        else:
            parts.append("(" + " <-> ".join(clause.tokens) + ")")
    return " & ".join(parts)


@dataclass
class Match:
    source: FromClause  # what to select from (joined to assets)
    where: ColumnElement[bool]
    score: ColumnElement[float]
    order_key: ColumnElement  # the newest-first key the engine can deliver cheaply


def full_text(dialect: str, query: Query, bucket: int | None = None) -> Match:
    """The joinable source, WHERE clause and relevance score for ``query`` on ``dialect``
    (on MySQL optionally within one time bucket of asset ids)."""
    if dialect == "sqlite":
        source = _FTS.join(Asset.__table__, Asset.id == _FTS.c.rowid)
        where = text("fts_search MATCH :fts_q").bindparams(fts_q=fts5_query(query))
        # bm25() is lower-is-better; it only runs for the rows the window keeps.
        score = -func.bm25(literal_column("fts_search"), literal_column(str(TITLE_WEIGHT)),
                           literal_column("1.0"))
        return Match(source, where, score, _FTS.c.rowid)
    source = Asset.__table__.join(_DOC, _DOC.c.asset_id == Asset.id)
    if dialect in ("mysql", "mariadb"):
        q = mysql_query(query, bucket)
        both = mysql_match(_DOC.c.title_tokens, _DOC.c.body_tokens, against=q).in_boolean_mode()
        title = mysql_match(_DOC.c.title_tokens, against=q).in_boolean_mode()
        return Match(source, both, title * TITLE_WEIGHT + both, Asset.id)
    if dialect == "postgresql":
        text_query = pg_query(query)
        # Inlined, not bound: with a parameter PostgreSQL may settle on a generic plan after a
        # few executions (psycopg prepares repeated statements) that scans assets in id order
        # re-parsing every document. The text is only our tokens and operators.
        if not _PG_SAFE.match(text_query):
            raise ValueError(f"unexpected tsquery text {text_query!r}")
        tsquery = func.to_tsquery(_PG_CONFIG, literal_column(f"'{text_query}'"))
        return Match(source, _PG_VECTOR.op("@@")(tsquery), func.ts_rank(_PG_VECTOR, tsquery),
                     Asset.id)
    raise ValueError(f"no full-text support for {dialect}")
