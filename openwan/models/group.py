from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from openwan.models.base import Base, BigId, UTCDateTime, utcnow

if TYPE_CHECKING:
    from openwan.models.category import Category
    from openwan.models.role import Role
    from openwan.models.user import User

# Link tables live with the group, the hub of OpenWan's rights model.
user_groups = Table(
    "user_groups", Base.metadata,
    Column("user_id", BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", BigId, ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True,
           index=True),
)

group_roles = Table(
    "group_roles", Base.metadata,
    Column("group_id", BigId, ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", BigId, ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True,
           index=True),
)

group_categories = Table(
    "group_categories", Base.metadata,
    Column("group_id", BigId, ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Column("category_id", BigId, ForeignKey("categories.id", ondelete="CASCADE"),
           primary_key=True, index=True),
)


class Group(Base):
    """A set of users sharing roles, bound categories and a storage quota."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    # True: every category, present and future (OpenWan's "all"); else ``categories``.
    all_categories: Mapped[bool] = mapped_column(Boolean, default=False)
    # Bytes the members' non-deleted assets may occupy together; None is unlimited.
    quota_bytes: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    roles: Mapped[list[Role]] = relationship(secondary=group_roles, order_by="Role.id")
    categories: Mapped[list[Category]] = relationship(secondary=group_categories,
                                                      order_by="Category.id")
    members: Mapped[list[User]] = relationship(secondary=user_groups, back_populates="groups")
