from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from openwan.models.base import Base, BigId, UTCDateTime, utcnow

if TYPE_CHECKING:
    from openwan.models.group import Group
    from openwan.models.role import Role


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    email: Mapped[str | None] = mapped_column(String(255))
    # Profile ("user centre") fields of the original account page.
    phone: Mapped[str | None] = mapped_column(String(32))
    department: Mapped[str | None] = mapped_column(String(128))
    description: Mapped[str | None] = mapped_column(String(500))
    password_hash: Mapped[str] = mapped_column(String(255))
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set on imported accounts whose password equals the username: until a new password is
    # chosen, every route but the password change answers 403 ``password_change_required``.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False,
                                                       server_default=false())
    # The root flag (first account, ``user create --admin``); the ADMIN role grants the same.
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # Browse clearance: the highest asset level this user may see (OpenWan 1 public … 5).
    level: Mapped[int] = mapped_column(Integer, default=1)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    login_count: Mapped[int] = mapped_column(Integer, default=0)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_ip: Mapped[str | None] = mapped_column(String(45))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    groups: Mapped[list[Group]] = relationship(secondary="user_groups", back_populates="members",
                                               order_by="Group.id")
    # Roles normally come through groups (as in OpenWan); direct roles are an addition.
    roles: Mapped[list[Role]] = relationship(secondary="user_roles", order_by="Role.id")
