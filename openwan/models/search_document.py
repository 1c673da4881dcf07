from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Integer, String, Text
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from openwan.models.base import Base, BigId


class SearchDocument(Base):
    """An asset's searchable text as index tokens (see ``openwan.search.tokens``).

    SQLite indexes ``title_tokens``/``body_tokens`` with the FTS5 table ``fts_search``,
    created by the migrations and named ``fts_*`` so model comparison leaves it alone; MySQL
    and PostgreSQL with OpenWan's own ``search_postings``, and check phrases on this text.
    Technical facts worth filtering on are copied here from the asset's probe results.
    """

    __tablename__ = "search_documents"

    # INTEGER PRIMARY KEY on SQLite: the FTS5 table uses it as its rowid.
    asset_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True,
        autoincrement=False)
    title_tokens: Mapped[str] = mapped_column(Text, default="")
    # MEDIUMTEXT on MySQL: room beyond TEXT's 64 KiB (before migration 0009, documents on
    # MySQL carried a second, time-bucketed copy of their tokens).
    body_tokens: Mapped[str] = mapped_column(
        Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb"), default="")
    duration: Mapped[float | None] = mapped_column(Float, index=True)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    codec: Mapped[str | None] = mapped_column(String(32))
