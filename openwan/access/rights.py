"""Groups, roles, permissions and levels: the administration of rights. Every change is
audited with its before/after state. Services flush; the edge commits."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from openwan.access import audit, rules
from openwan.access import permissions as P
from openwan.access.service import ensure_an_admin, roles_by_name
from openwan.kit.errors import Conflict, Forbidden, NotFound, Unprocessable
from openwan.models import (
    Asset,
    AssetGroup,
    AssetStatus,
    Category,
    Group,
    Level,
    Permission,
    Role,
    User,
    user_groups,
)

NAME = re.compile(r"^[^\x00-\x1f/\\<>\"'`;]{1,64}$")
PERMISSION_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")


def _check_name(name: str, what: str) -> str:
    name = name.strip()
    if not NAME.match(name):
        raise Unprocessable(f"{what} name must be 1 to 64 characters without control "
                            "characters, quotes, slashes or <>;`", field="name")
    return name


def _require_grantable(actor: User, roles: list[Role]) -> None:
    """Only administrators hand out ADMIN or permissions they do not hold themselves."""
    access = rules.access_of(actor)
    if access.is_admin:
        return
    for role in roles:
        missing = rules.beyond(access, {p.name for p in role.permissions})
        if role.name == P.ADMIN_ROLE or missing:
            raise Forbidden(f"you cannot grant role {role.name!r}: it holds rights you do not "
                            f"({missing or [P.ADMIN_ROLE]})")


# Groups ----------------------------------------------------------------------------------------

def group_snapshot(group: Group) -> dict[str, Any]:
    return {"name": group.name, "roles": sorted(r.name for r in group.roles),
            "categories": "all" if group.all_categories else sorted(c.id for c in group.categories),
            "quota_bytes": group.quota_bytes}


def get_group(session: Session, group_id: int) -> Group:
    group = session.get(Group, group_id)
    if group is None:
        raise NotFound(f"group {group_id} not found")
    return group


def list_groups(session: Session, *, page: int, size: int) -> tuple[int, list[Group]]:
    total = session.scalar(select(func.count()).select_from(Group)) or 0
    rows = session.scalars(select(Group).options(selectinload(Group.roles),
                                                 selectinload(Group.categories))
                           .order_by(Group.id).offset((page - 1) * size).limit(size)).all()
    return total, list(rows)


def _set_categories(session: Session, group: Group, categories: Any) -> None:
    if categories == "all":
        group.all_categories = True
        group.categories = []
        return
    wanted = sorted({int(c) for c in categories})
    found = list(session.scalars(select(Category).where(Category.id.in_(wanted))).all())
    missing = sorted(set(wanted) - {c.id for c in found})
    if missing:
        raise Unprocessable(f"categories do not exist: {missing}", field="categories")
    group.all_categories = False
    group.categories = sorted(found, key=lambda c: c.id)


def _check_quota(quota: int | None) -> int | None:
    if quota is not None and quota < 0:
        raise Unprocessable("quota_bytes must be 0 or more (null: unlimited)", field="quota_bytes")
    return quota


def create_group(session: Session, actor: User, *, name: str, roles: list[str],
                 categories: Any, description: str = "", quota_bytes: int | None = None) -> Group:
    name = _check_name(name, "group")
    if session.scalar(select(Group.id).where(func.lower(Group.name) == name.lower())):
        raise Conflict(f"group {name!r} already exists", field="name")
    role_rows = roles_by_name(session, roles)
    _require_grantable(actor, role_rows)
    group = Group(name=name, description=description, quota_bytes=_check_quota(quota_bytes),
                  all_categories=False)
    group.roles = role_rows
    _set_categories(session, group, categories)
    session.add(group)
    session.flush()
    audit.record(session, "group.create", actor=actor, target=("group", group.id),
                 detail={"after": group_snapshot(group)})
    return group


def update_group(session: Session, actor: User, group: Group, changes: dict[str, Any]) -> Group:
    before = group_snapshot(group)
    if not rules.access_of(actor).is_admin and any(r.name == P.ADMIN_ROLE for r in group.roles):
        raise Forbidden("only administrators change an administrators' group")
    if changes.get("name") is not None:
        name = _check_name(changes["name"], "group")
        if name.lower() != group.name.lower() and session.scalar(
                select(Group.id).where(func.lower(Group.name) == name.lower())):
            raise Conflict(f"group {name!r} already exists", field="name")
        if group.name == P.ADMIN_GROUP and name != group.name:
            raise Conflict(f"the {P.ADMIN_GROUP!r} group keeps its name")
        group.name = name
    if changes.get("description") is not None:
        group.description = changes["description"]
    if "quota_bytes" in changes:
        group.quota_bytes = _check_quota(changes["quota_bytes"])
    if changes.get("roles") is not None:
        role_rows = roles_by_name(session, changes["roles"])
        _require_grantable(actor, [r for r in role_rows if r not in group.roles])
        group.roles = role_rows
    if changes.get("categories") is not None:
        _set_categories(session, group, changes["categories"])
    session.flush()
    ensure_an_admin(session)
    audit.record(session, "group.update", actor=actor, target=("group", group.id),
                 detail=audit.changes(before, group_snapshot(group)))
    return group


def delete_group(session: Session, actor: User, group: Group) -> None:
    if group.name == P.ADMIN_GROUP:
        raise Conflict(f"the {P.ADMIN_GROUP!r} group cannot be deleted")
    if session.scalar(select(AssetGroup.asset_id).where(AssetGroup.group_id == group.id)
                      .limit(1)):
        raise Conflict("assets are published to this group; change their groups first")
    if not rules.access_of(actor).is_admin and any(r.name == P.ADMIN_ROLE for r in group.roles):
        raise Forbidden("only administrators delete an administrators' group")
    members = sorted(session.scalars(select(user_groups.c.user_id)
                                     .where(user_groups.c.group_id == group.id)).all())
    detail = {"before": group_snapshot(group), "members": members}
    group_id = group.id
    session.delete(group)
    session.flush()
    ensure_an_admin(session)
    audit.record(session, "group.delete", actor=actor, target=("group", group_id), detail=detail)


def quota_used(session: Session, group_id: int) -> int:
    """Bytes held by the group's members' assets outside the recycle bin."""
    members = select(user_groups.c.user_id).where(user_groups.c.group_id == group_id)
    return int(session.scalar(select(func.coalesce(func.sum(Asset.size), 0)).where(
        Asset.uploaded_by.in_(members), Asset.status != AssetStatus.deleted)) or 0)


def member_counts(session: Session, group_ids: list[int]) -> dict[int, int]:
    rows = session.execute(select(user_groups.c.group_id, func.count())
                           .where(user_groups.c.group_id.in_(group_ids))
                           .group_by(user_groups.c.group_id)).all()
    return {gid: n for gid, n in rows}


# Roles and permissions ------------------------------------------------------------------------

def role_snapshot(role: Role) -> dict[str, Any]:
    return {"name": role.name, "permissions": sorted(p.name for p in role.permissions)}


def get_role(session: Session, role_id: int) -> Role:
    role = session.get(Role, role_id)
    if role is None:
        raise NotFound(f"role {role_id} not found")
    return role


def list_roles(session: Session) -> list[Role]:
    return list(session.scalars(select(Role).options(selectinload(Role.permissions))
                                .order_by(Role.id)).all())


def _permissions_by_name(session: Session, names: list[str]) -> list[Permission]:
    wanted = sorted(set(names))
    found = list(session.scalars(select(Permission).where(Permission.name.in_(wanted))).all())
    missing = sorted(set(wanted) - {p.name for p in found})
    if missing:
        raise Unprocessable(f"permissions do not exist: {missing}", field="permissions")
    return found


def _require_held(actor: User, permissions: list[Permission]) -> None:
    missing = rules.beyond(rules.access_of(actor), {p.name for p in permissions})
    if missing:
        raise Forbidden(f"you cannot grant permissions you do not hold: {missing}")


def create_role(session: Session, actor: User, *, name: str, permissions: list[str],
                description: str = "") -> Role:
    name = _check_name(name, "role")
    if session.scalar(select(Role.id).where(func.lower(Role.name) == name.lower())):
        raise Conflict(f"role {name!r} already exists", field="name")
    perms = _permissions_by_name(session, permissions)
    _require_held(actor, perms)
    role = Role(name=name, description=description, builtin=False, permissions=perms)
    session.add(role)
    session.flush()
    audit.record(session, "role.create", actor=actor, target=("role", role.id),
                 detail={"after": role_snapshot(role)})
    return role


def update_role(session: Session, actor: User, role: Role, changes: dict[str, Any]) -> Role:
    before = role_snapshot(role)
    if changes.get("name") is not None and changes["name"] != role.name:
        if role.builtin:
            raise Conflict(f"the built-in role {role.name!r} keeps its name")
        name = _check_name(changes["name"], "role")
        if session.scalar(select(Role.id).where(func.lower(Role.name) == name.lower(),
                                                Role.id != role.id)):
            raise Conflict(f"role {name!r} already exists", field="name")
        role.name = name
    if changes.get("description") is not None:
        role.description = changes["description"]
    if changes.get("permissions") is not None:
        if role.name == P.ADMIN_ROLE:
            raise Conflict("the ADMIN role always holds every permission")
        perms = _permissions_by_name(session, changes["permissions"])
        _require_held(actor, [p for p in perms if p not in role.permissions])
        _require_held(actor, role.permissions)  # no editing roles stronger than oneself
        role.permissions = perms
    session.flush()
    audit.record(session, "role.update", actor=actor, target=("role", role.id),
                 detail=audit.changes(before, role_snapshot(role)))
    return role


def delete_role(session: Session, actor: User, role: Role) -> None:
    if role.builtin:
        raise Conflict(f"the built-in role {role.name!r} cannot be deleted")
    _require_held(actor, role.permissions)
    detail = {"before": role_snapshot(role)}
    role_id = role.id
    session.delete(role)
    session.flush()
    audit.record(session, "role.delete", actor=actor, target=("role", role_id), detail=detail)


def list_permissions(session: Session) -> list[Permission]:
    return list(session.scalars(select(Permission).order_by(Permission.name)).all())


def get_permission(session: Session, permission_id: int) -> Permission:
    permission = session.get(Permission, permission_id)
    if permission is None:
        raise NotFound(f"permission {permission_id} not found")
    return permission


def create_permission(session: Session, actor: User, *, name: str,
                      description: str = "") -> Permission:
    """A custom capability name (for integrations); OpenWan's own checks use the built-ins."""
    if not PERMISSION_NAME.match(name) or len(name) > 64:
        raise Unprocessable("permission names look like 'area.action' (lower case)",
                            field="name")
    if session.scalar(select(Permission.id).where(Permission.name == name)):
        raise Conflict(f"permission {name!r} already exists", field="name")
    permission = Permission(name=name, description=description, builtin=False)
    session.add(permission)
    session.flush()
    admin = session.scalar(select(Role).where(Role.name == P.ADMIN_ROLE))
    if admin is not None:
        admin.permissions.append(permission)  # ADMIN holds every permission
    session.flush()
    audit.record(session, "permission.create", actor=actor,
                 target=("permission", permission.id), detail={"name": name})
    return permission


def update_permission(session: Session, actor: User, permission: Permission,
                      description: str) -> Permission:
    before = {"description": permission.description}
    permission.description = description
    session.flush()
    audit.record(session, "permission.update", actor=actor,
                 target=("permission", permission.id),
                 detail=audit.changes(before, {"description": description}))
    return permission


def delete_permission(session: Session, actor: User, permission: Permission) -> None:
    if permission.builtin:
        raise Conflict(f"the built-in permission {permission.name!r} cannot be deleted")
    name, permission_id = permission.name, permission.id
    session.delete(permission)
    session.flush()
    audit.record(session, "permission.delete", actor=actor,
                 target=("permission", permission_id), detail={"name": name})


# Levels ---------------------------------------------------------------------------------------

def level_snapshot(level: Level) -> dict[str, Any]:
    return {"name": level.name, "description": level.description, "enabled": level.enabled}


def get_level(session: Session, level_id: int) -> Level:
    level = session.get(Level, level_id)
    if level is None:
        raise NotFound(f"level {level_id} not found")
    return level


def list_levels(session: Session) -> list[Level]:
    return list(session.scalars(select(Level).order_by(Level.id)).all())


def create_level(session: Session, actor: User, *, id: int, name: str, description: str = "",
                 enabled: bool = True) -> Level:
    if session.get(Level, id) is not None:
        raise Conflict(f"level {id} already exists", field="id")
    level = Level(id=id, name=_check_name(name, "level"), description=description,
                  enabled=enabled)
    session.add(level)
    session.flush()
    audit.record(session, "level.create", actor=actor, target=("level", id),
                 detail={"after": level_snapshot(level)})
    return level


def update_level(session: Session, actor: User, level: Level, changes: dict[str, Any]) -> Level:
    before = level_snapshot(level)
    if changes.get("name") is not None:
        level.name = _check_name(changes["name"], "level")
    if changes.get("description") is not None:
        level.description = changes["description"]
    if changes.get("enabled") is not None:
        level.enabled = bool(changes["enabled"])
    session.flush()
    audit.record(session, "level.update", actor=actor, target=("level", level.id),
                 detail=audit.changes(before, level_snapshot(level)))
    return level


def delete_level(session: Session, actor: User, level: Level) -> None:
    if session.scalar(select(Asset.id).where(Asset.level == level.id).limit(1)) or \
            session.scalar(select(User.id).where(User.level == level.id).limit(1)):
        raise Conflict(f"level {level.id} is in use by assets or users; disable it instead")
    detail = {"before": level_snapshot(level)}
    level_id = level.id
    session.delete(level)
    session.flush()
    audit.record(session, "level.delete", actor=actor, target=("level", level_id),
                 detail=detail)


def check_assignable_level(session: Session, level: int) -> None:
    """A level an asset may be given now: it exists and is enabled."""
    row = session.get(Level, level)
    if row is None:
        raise Unprocessable(f"level {level} does not exist", field="level")
    if not row.enabled:
        raise Unprocessable(f"level {level} ({row.name}) is disabled", field="level")


def check_groups_exist(session: Session, group_ids: list[int]) -> list[int]:
    wanted = sorted(set(group_ids))
    found = set(session.scalars(select(Group.id).where(Group.id.in_(wanted))).all())
    missing = sorted(set(wanted) - found)
    if missing:
        raise Unprocessable(f"groups do not exist: {missing}", field="groups")
    return wanted
