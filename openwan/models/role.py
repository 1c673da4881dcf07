from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from openwan.models.base import Base, BigId

if TYPE_CHECKING:
    from openwan.models.permission import Permission

role_permissions = Table(
    "role_permissions", Base.metadata,
    Column("role_id", BigId, ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True),
    Column("permission_id", BigId, ForeignKey("permissions.id", ondelete="CASCADE"),
           primary_key=True, index=True),
)

user_roles = Table(
    "user_roles", Base.metadata,
    Column("user_id", BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", BigId, ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True,
           index=True),
)


class Role(Base):
    """A named bundle of permissions, given to groups (and, as an addition, to users)."""

    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    # Seeded roles keep their names and cannot be deleted; ADMIN keeps every permission.
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)

    permissions: Mapped[list[Permission]] = relationship(secondary=role_permissions,
                                                         order_by="Permission.name")
