from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from openwan.models.base import Base, UTCDateTime, utcnow


class Upload(Base):
    """A tus resumable upload in progress; the asset exists only once the last byte lands.

    On local storage the bytes wait in a partial file. On S3 they go into a multipart upload
    (``mpu_id``) of the final ``storage_key``: ``parts`` lists the parts sent
    (``[number, etag, size]``), ``sha_state`` the sha256 state after them, and the bytes past
    the last part (under 5 MiB) wait in a small tail object. ``busy_until``/``busy_token``:
    the PATCH that holds the upload, whichever process runs it.
    """

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    length: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    filename: Mapped[str] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(String(512))
    category_id: Mapped[int | None] = mapped_column(BigInteger)
    keep_duplicate: Mapped[bool] = mapped_column(Boolean, default=False)
    type: Mapped[str | None] = mapped_column(String(16))
    metadata_: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    storage_key: Mapped[str | None] = mapped_column(String(512))
    mime_type: Mapped[str | None] = mapped_column(String(127))
    mpu_id: Mapped[str | None] = mapped_column(String(1024))
    parts: Mapped[list | None] = mapped_column(JSON)
    sha_state: Mapped[str | None] = mapped_column(String(256))
    busy_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    busy_token: Mapped[str | None] = mapped_column(String(32))
