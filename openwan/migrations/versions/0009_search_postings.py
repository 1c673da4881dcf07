"""search on MySQL and PostgreSQL: OpenWan's own posting table instead of InnoDB FULLTEXT and
the GIN index (issue: search speed)

InnoDB's FULLTEXT and PostgreSQL's GIN read whole posting lists and cannot stop after the
newest matches; the ``search_postings`` B-tree can (``openwan.search.postings``). On MySQL
and PostgreSQL the upgrade fills it from the search documents (on MySQL dropping the
time-bucketed token copies they carried) and drops the FULLTEXT or GIN indexes; the
downgrade brings those back (searches then read the whole index). SQLite keeps FTS5 and gets
the empty table.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

import openwan.models.base  # noqa: F401

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BATCH = 2000


def upgrade() -> None:
    op.create_table(
        "search_postings",
        sa.Column("token", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("asset_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("weight", sa.SmallInteger(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("token", "asset_id", name=op.f("pk_search_postings")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_unicode_ci",
    )
    dialect = op.get_bind().dialect.name
    if dialect in ("mysql", "mariadb"):
        op.execute("DROP INDEX fts_search_documents ON search_documents")
        op.execute("DROP INDEX fts_search_documents_title ON search_documents")
    elif dialect == "postgresql":
        op.execute("DROP INDEX fts_search_documents")
        # The planner walks a token's postings in order only when it knows the token is
        # common: keep up to 10,000 of the commonest tokens in its statistics (the default
        # 100 leaves every token at one guessed count, and a common word's postings are
        # then all read and sorted).
        op.execute("ALTER TABLE search_postings ALTER COLUMN token SET STATISTICS 10000")
    if dialect != "sqlite":
        _fill_postings(bucketed=dialect != "postgresql")


def _fill_postings(*, bucketed: bool) -> None:
    from openwan.search.postings import weights

    conn = op.get_bind()
    documents = sa.table("search_documents", sa.column("asset_id", sa.BigInteger),
                         sa.column("title_tokens", sa.Text), sa.column("body_tokens", sa.Text))
    assets = sa.table("assets", sa.column("id", sa.BigInteger), sa.column("type", sa.String),
                      sa.column("level", sa.Integer))
    postings = sa.table("search_postings", sa.column("token", sa.BigInteger),
                        sa.column("asset_id", sa.BigInteger),
                        sa.column("weight", sa.SmallInteger), sa.column("type", sa.String),
                        sa.column("level", sa.SmallInteger))
    last = 0
    while True:
        rows = conn.execute(
            sa.select(documents, assets.c.type, assets.c.level)
            .join(assets, assets.c.id == documents.c.asset_id)
            .where(documents.c.asset_id > last).order_by(documents.c.asset_id).limit(BATCH)).all()
        if not rows:
            return
        posted = []
        for asset_id, title, body, type_, level in rows:
            # Time-bucketed copies (``w`` + bucket + token) were written on MySQL only, for
            # FULLTEXT.
            kept = [" ".join(t for t in text.split() if not t.startswith("w"))
                    for text in (title, body)] if bucketed else [title, body]
            if kept != [title, body]:
                title, body = kept
                conn.execute(documents.update().where(documents.c.asset_id == asset_id)
                             .values(title_tokens=title, body_tokens=body))
            posted.extend({"token": token, "asset_id": asset_id, "weight": weight,
                           "type": type_, "level": level}
                          for token, weight in weights(title, body).items())
        if posted:
            conn.execute(postings.insert(), posted)
        last = rows[-1][0]


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect in ("mysql", "mariadb"):
        op.execute("CREATE FULLTEXT INDEX fts_search_documents "
                   "ON search_documents (title_tokens, body_tokens)")
        op.execute("CREATE FULLTEXT INDEX fts_search_documents_title "
                   "ON search_documents (title_tokens)")
    elif dialect == "postgresql":
        # Revision 0004's index, as its search expected it.
        op.execute("CREATE INDEX fts_search_documents ON search_documents USING gin (("
                   "setweight(to_tsvector('simple'::regconfig, title_tokens), 'A') || "
                   "setweight(to_tsvector('simple'::regconfig, body_tokens), 'B')))")
    op.drop_table("search_postings")
