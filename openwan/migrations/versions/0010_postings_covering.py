"""search on PostgreSQL: the postings' primary key carries weight, type and level (INCLUDE)

A PostgreSQL index holds only its key, so walking a token's postings with the type and level
filters, and reading the weights for relevance, fetched a heap page per posting: at a
million assets a common word's walk spent most of its time there. With the three columns in
the primary key's leaf pages the walk and the probes are index-only scans (the visibility
map, kept by autovacuum, lets them skip the heap). InnoDB's primary key is the table itself
and SQLite uses FTS5, so both are left as they are.

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE search_postings DROP CONSTRAINT pk_search_postings, "
                   "ADD CONSTRAINT pk_search_postings PRIMARY KEY (token, asset_id) "
                   "INCLUDE (weight, type, level)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE search_postings DROP CONSTRAINT pk_search_postings, "
                   "ADD CONSTRAINT pk_search_postings PRIMARY KEY (token, asset_id)")
