from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from openwan.models.base import Base, UTCDateTime


class LoginThrottle(Base):
    """Failed sign-ins in the current window, per (account, address) and per address: the
    state every process shares for sign-in throttling (``openwan.access.throttle``).

    ``subject`` is a hash, never the username or address itself.
    """

    __tablename__ = "login_throttle"
    __table_args__ = (Index("ix_login_throttle_last_at", "last_at"),)

    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
