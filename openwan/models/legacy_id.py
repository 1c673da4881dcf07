from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from openwan.models.base import Base, BigId


class LegacyId(Base):
    """What a row of a legacy (2010 PHP) OpenWan installation became here.

    ``kind`` names the legacy table (``category``, ``user``, ``file``…); ``new_id`` is the id
    of the row it became (None when it was skipped; ``detail`` says why, and keeps legacy
    facts that have no column here). The importer skips every row already recorded, so a
    second run changes nothing and an interrupted run resumes.
    """

    __tablename__ = "legacy_ids"
    __table_args__ = (UniqueConstraint("kind", "legacy_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    legacy_id: Mapped[str] = mapped_column(String(64))
    new_id: Mapped[int | None] = mapped_column(BigInteger)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
