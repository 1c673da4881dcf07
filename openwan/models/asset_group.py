from __future__ import annotations

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from openwan.models.base import Base, BigId


class AssetGroup(Base):
    """One allowed group of an asset: the indexable twin of ``Asset.groups`` for the rights
    filter. ``Asset`` keeps these rows in step with its ``groups`` value (see its validator)."""

    __tablename__ = "asset_groups"
    # (group_id, asset_id) answers "assets open to these groups" from the index alone.
    __table_args__ = (Index("ix_asset_groups_group_id_asset_id", "group_id", "asset_id"),)

    asset_id: Mapped[int] = mapped_column(BigId, ForeignKey("assets.id", ondelete="CASCADE"),
                                          primary_key=True)
    group_id: Mapped[int] = mapped_column(BigId, ForeignKey("groups.id"), primary_key=True)
