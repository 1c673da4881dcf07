from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from openwan.models.base import Base, BigId


class CatalogValue(Base):
    """One catalogue value of an asset, folded, for exact and range filters in search.

    Derived from ``Asset.catalog`` on every change (one row per value; a multiple choice
    gives several rows). Long text is not copied here: full-text search covers it.
    """

    __tablename__ = "catalog_values"
    __table_args__ = (
        Index("ix_catalog_values_field_value", "group_key", "field_key", "value"),
        Index("ix_catalog_values_field_number", "group_key", "field_key", "number"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"),
                                          index=True)
    group_key: Mapped[str] = mapped_column(String(64))
    field_key: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(191))
    number: Mapped[float | None] = mapped_column(Float)
