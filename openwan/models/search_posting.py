from __future__ import annotations

from sqlalchemy import BigInteger, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from openwan.models.base import Base


class SearchPosting(Base):
    """One index token of one asset: OpenWan's own inverted index (all but SQLite).

    InnoDB's FULLTEXT and PostgreSQL's GIN read a token's whole posting list whatever the
    LIMIT; a B-tree keyed by (token, asset) gives each token's assets in id order, so a
    query walks the sparsest token newest first, probes the others by primary key and stops
    after the window (see ``openwan.search.postings``). ``token`` is a 64-bit hash of the
    token text, ``weight`` its count in the asset (title occurrences weigh more); the
    asset's ``type`` and ``level`` are copied so the type and level filters apply while
    walking, before any asset row is read (every change rewrites the asset's postings
    anyway). On PostgreSQL the primary key INCLUDEs weight, type and level (migration 0010),
    so walks and probes read the index alone, as InnoDB's clustered key does by itself.
    No foreign key: it would cost a second index on ``asset_id``; rows are removed
    by their keys, computed from the asset's search document. SQLite (FTS5) leaves this
    table empty.
    """

    __tablename__ = "search_postings"

    token: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    asset_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    weight: Mapped[int] = mapped_column(SmallInteger, default=1)
    type: Mapped[str] = mapped_column(String(16))
    level: Mapped[int] = mapped_column(SmallInteger)
