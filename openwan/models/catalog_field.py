from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from openwan.models.base import Base, BigId, UTCDateTime, utcnow


class FieldKind(StrEnum):
    group = "group"
    text = "text"
    longtext = "longtext"
    number = "number"
    date = "date"
    choice = "choice"
    multichoice = "multichoice"


class CatalogField(Base):
    """A node of a media type's catalogue schema (OpenWan's 编目 tree): a group or a field.

    Asset metadata is stored as ``{group.key: {field.key: value}}``. Keys never change once
    created, so renaming (``name_zh``/``name_en``) or disabling a field keeps existing values;
    a field deleted while values exist is archived instead (hidden, values kept).
    """

    __tablename__ = "catalog_fields"
    __table_args__ = (UniqueConstraint("media_type", "group_key", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    media_type: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("catalog_fields.id", ondelete="CASCADE"), index=True)
    # The parent group's key ("" for a group), so keys are unique within their group.
    group_key: Mapped[str] = mapped_column(String(64), default="")
    key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default=FieldKind.text)
    name_zh: Mapped[str] = mapped_column(String(128))
    name_en: Mapped[str] = mapped_column(String(128), default="")
    help_zh: Mapped[str] = mapped_column(String(512), default="")
    help_en: Mapped[str] = mapped_column(String(512), default="")
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    # The controlled list of a choice / multichoice field.
    choices: Mapped[Any] = mapped_column(JSON, default=list)
    weight: Mapped[int] = mapped_column(Integer, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
