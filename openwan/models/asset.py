from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from openwan.models.asset_group import AssetGroup
from openwan.models.base import Base, BigId, UTCDateTime, utcnow


class AssetType(StrEnum):
    video = "video"
    audio = "audio"
    image = "image"
    document = "document"


class AssetStatus(StrEnum):
    """The OpenWan workflow (legacy codes 0 new, 1 pending, 2 published, 3 rejected, 4 deleted)."""

    new = "new"
    pending = "pending"
    published = "published"
    rejected = "rejected"
    deleted = "deleted"


class MediaState(StrEnum):
    queued = "queued"
    processing = "processing"
    ready = "ready"
    failed = "failed"


class Asset(Base):
    __tablename__ = "assets"
    __table_args__ = (
        Index("ix_assets_status_created_at", "status", "created_at"),
        # With the status: a caller's own assets are counted from the index alone.
        Index("ix_assets_uploaded_by", "uploaded_by", "created_at", "status"),
        # Listings go newest first (created_at, id): read in index order, no sort of the table.
        # The columns of the rights filter follow, so a viewer's page is found from the index
        # alone, without reading a row per asset passed over (``access.rules``).
        Index("ix_assets_listing", "created_at", "id", "status", "level", "category_id",
              "all_groups", "uploaded_by"),
        # A viewer's total: per-branch counts as index ranges (status, category, level); the
        # rest of the filter is read from the same entries.
        Index("ix_assets_visible", "status", "category_id", "level", "all_groups",
              "uploaded_by", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(512))
    filename: Mapped[str] = mapped_column(String(255))
    extension: Mapped[str] = mapped_column(String(16), default="")
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    mime_type: Mapped[str] = mapped_column(String(127))
    storage_key: Mapped[str] = mapped_column(String(512), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=AssetStatus.new)
    media_state: Mapped[str] = mapped_column(String(16), default=MediaState.queued)
    media_error: Mapped[str | None] = mapped_column(Text)
    level: Mapped[int] = mapped_column(Integer, default=1)
    # "all" or a list of group ids, as OpenWan's allowed groups. The rights filter reads
    # ``all_groups`` and ``group_links`` (indexable), which the validator below keeps in step.
    groups: Mapped[Any] = mapped_column(JSON, default="all")
    all_groups: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    download: Mapped[bool] = mapped_column(Boolean, default=False)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    # ``metadata`` is reserved by SQLAlchemy's declarative base, hence the attribute name.
    catalog: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
    technical: Mapped[dict] = mapped_column(JSON, default=dict)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The reviewer's reason when sent back, shown on the asset until it is approved.
    review_comment: Mapped[str | None] = mapped_column(Text)
    # The status before deletion, so a restore returns the asset to it.
    previous_status: Mapped[str | None] = mapped_column(String(16))

    group_links: Mapped[list[AssetGroup]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by=AssetGroup.group_id)

    @validates("status", "level", "category_id")
    def _copy_to_group_links(self, key: str, value: Any) -> Any:
        """Keep the copies on ``group_links`` (see ``AssetGroup``) equal to this asset's."""
        for link in self.group_links:
            setattr(link, key, value)
        return value

    @validates("groups")
    def _keep_group_links(self, key: str, value: Any) -> Any:
        """Normalise ``groups`` and mirror it into ``all_groups`` / ``group_links``.

        Done on assignment, so no caller can change the API field without the filter's copy.
        """
        if value == "all" or value is None:
            self.all_groups = True
            wanted: set[int] = set()
            value = "all"
        else:
            wanted = {int(g) for g in value}
            value = sorted(wanted)
            self.all_groups = False
        links = self.group_links
        for link in [link for link in links if link.group_id not in wanted]:
            links.remove(link)
        present = {link.group_id for link in links}
        copies = {key: getattr(self, key) for key in ("status", "level", "category_id")
                  if getattr(self, key) is not None}
        for group_id in sorted(wanted - present):
            links.append(AssetGroup(group_id=group_id, **copies))
        return value
