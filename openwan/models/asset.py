from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

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
        Index("ix_assets_uploaded_by_created_at", "uploaded_by", "created_at"),
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
    # "all" or a list of group ids, as OpenWan's allowed groups.
    groups: Mapped[Any] = mapped_column(JSON, default="all")
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
