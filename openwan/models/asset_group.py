from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from openwan.models.base import Base, BigId


class AssetGroup(Base):
    """One allowed group of an asset: the indexable twin of ``Asset.groups`` for the rights
    filter. ``Asset`` keeps these rows in step with its ``groups`` value (see its validator).

    Each row also carries copies of the asset's status, level and category (kept in step by
    ``Asset`` too), so "published assets open to these groups, within this clearance and
    these categories" is one index range, not a join with ``assets`` row by row. A bulk
    (Core) UPDATE of those columns of ``assets`` must update these rows too, as
    ``catalog.categories.delete`` does.
    """

    __tablename__ = "asset_groups"
    # Ranges on (group, status, level); the category is filtered inside the same index entry.
    # Ranges on category too would multiply into groups x categories seeks on MariaDB.
    __table_args__ = (Index("ix_asset_groups_visible", "group_id", "status", "level",
                            "category_id", "asset_id"),)

    asset_id: Mapped[int] = mapped_column(BigId, ForeignKey("assets.id", ondelete="CASCADE"),
                                          primary_key=True)
    group_id: Mapped[int] = mapped_column(BigId, ForeignKey("groups.id"), primary_key=True)
    # Copies of the asset's columns (no foreign key on the category: the asset holds that).
    # The defaults are the asset's, for a link made before its asset's values are set.
    status: Mapped[str] = mapped_column(String(16), default="new")
    level: Mapped[int] = mapped_column(Integer, default=1)
    category_id: Mapped[int | None] = mapped_column(BigId)
