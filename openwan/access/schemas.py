from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from openwan.kit.ids import Bytes, Id

Email = Field(None, max_length=255, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=256)
    password: str = Field(min_length=1, max_length=1024)


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=4096)


class LogoutIn(BaseModel):
    refresh_token: str | None = Field(None, max_length=4096)


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - the scheme name
    expires_in: int
    # Only when true (the login of an imported account whose password equals its username):
    # every route but POST /api/v1/me/password answers 403 password_change_required.
    password_change_required: bool | None = None


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    email: str | None
    phone: str | None = None
    department: str | None = None
    description: str | None = None
    is_admin: bool
    level: int
    enabled: bool
    locked: bool
    groups: list[int] = []
    roles: list[str] = []
    login_count: int = 0
    last_login_at: datetime | None = None
    last_login_ip: str | None = None
    created_at: datetime | None = None


class MeOut(UserOut):
    """The caller's account with what it resolves to."""

    administrator: bool
    effective_roles: list[str]
    permissions: list[str]
    categories: Literal["all"] | list[int]


class UserPage(BaseModel):
    total: int
    items: list[UserOut]
    page: int
    size: int


class _Profile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(None, max_length=128)
    email: str | None = Email
    phone: str | None = Field(None, max_length=32)
    department: str | None = Field(None, max_length=128)
    description: str | None = Field(None, max_length=500)


class ProfilePatch(_Profile):
    pass


class UserCreate(_Profile):
    # Longer than allowed on purpose: the service answers with the rule, not a length error.
    username: str = Field(min_length=1, max_length=256)
    password: str = Field(min_length=1, max_length=1024)
    display_name: str = Field("", max_length=128)
    level: int = Field(1, ge=1, le=1000)
    groups: list[Id] = Field(default_factory=list, max_length=1000)
    roles: list[str] = Field(default_factory=list, max_length=100)
    is_admin: bool = False
    enabled: bool = True
    locked: bool = False


class UserPatch(_Profile):
    level: int | None = Field(None, ge=1, le=1000)
    groups: list[Id] | None = Field(None, max_length=1000)
    roles: list[str] | None = Field(None, max_length=100)
    is_admin: bool | None = None
    enabled: bool | None = None
    locked: bool | None = None
    password: str | None = Field(None, min_length=1, max_length=1024)


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class GroupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=256)
    description: str = Field("", max_length=500)
    roles: list[str] = Field(default_factory=list, max_length=100)
    categories: Literal["all"] | list[Id] = Field(default_factory=list)
    quota_bytes: Bytes | None = None


class GroupPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=256)
    description: str | None = Field(None, max_length=500)
    roles: list[str] | None = Field(None, max_length=100)
    categories: Literal["all"] | list[Id] | None = None
    quota_bytes: Bytes | None = None


class GroupOut(BaseModel):
    id: int
    name: str
    description: str
    roles: list[str]
    categories: Literal["all"] | list[int]
    quota_bytes: int | None
    quota_used: int | None = None
    members: int = 0


class GroupPage(BaseModel):
    total: int
    items: list[GroupOut]
    page: int
    size: int


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=256)
    description: str = Field("", max_length=500)
    permissions: list[str] = Field(default_factory=list, max_length=200)


class RolePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=256)
    description: str | None = Field(None, max_length=500)
    permissions: list[str] | None = Field(None, max_length=200)


class RoleOut(BaseModel):
    id: int
    name: str
    description: str
    builtin: bool
    permissions: list[str]


class PermissionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    description: str = Field("", max_length=500)


class PermissionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = Field(max_length=500)


class PermissionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    builtin: bool


class LevelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int = Field(ge=1, le=1000)
    name: str = Field(min_length=1, max_length=64)
    description: str = Field("", max_length=500)
    enabled: bool = True


class LevelPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=64)
    description: str | None = Field(None, max_length=500)
    enabled: bool | None = None


class LevelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    enabled: bool


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_id: int | None
    actor: str | None
    ip: str | None
    action: str
    target_type: str | None
    target_id: str | None
    success: bool
    detail: dict[str, Any]


class AuditPage(BaseModel):
    total: int
    items: list[AuditOut]
    page: int
    size: int


class ApiTokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    expires_days: int | None = Field(None, ge=1, le=3650)


class ApiTokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class ApiTokenCreated(ApiTokenOut):
    token: str = Field(description="The secret; shown this once only")
