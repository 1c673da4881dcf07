"""Turning account rows into the API's JSON."""

from __future__ import annotations

from sqlalchemy.orm import Session

from openwan.access import rights, rules
from openwan.access.schemas import GroupOut, MeOut, RoleOut, UserOut
from openwan.models import Group, Role, User


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id, username=user.username, display_name=user.display_name, email=user.email,
        phone=user.phone, department=user.department, description=user.description,
        is_admin=user.is_admin, level=user.level, enabled=user.enabled, locked=user.locked,
        groups=[g.id for g in user.groups], roles=[r.name for r in user.roles],
        login_count=user.login_count, last_login_at=user.last_login_at,
        last_login_ip=user.last_login_ip, created_at=user.created_at)


def me_out(session: Session, user: User) -> MeOut:
    access = rules.access_of(user, session)
    return MeOut(**user_out(user).model_dump(), administrator=access.is_admin,
                 effective_roles=sorted(access.roles), permissions=sorted(access.permissions),
                 categories="all" if access.categories is None else sorted(access.categories))


def group_out(group: Group, *, used: int | None = None, members: int = 0) -> GroupOut:
    return GroupOut(id=group.id, name=group.name, description=group.description,
                    roles=[r.name for r in group.roles],
                    categories="all" if group.all_categories else [c.id for c in group.categories],
                    quota_bytes=group.quota_bytes, quota_used=used, members=members)


def group_detail(session: Session, group: Group) -> GroupOut:
    return group_out(group, used=rights.quota_used(session, group.id),
                     members=rights.member_counts(session, [group.id]).get(group.id, 0))


def role_out(role: Role) -> RoleOut:
    return RoleOut(id=role.id, name=role.name, description=role.description,
                   builtin=role.builtin, permissions=[p.name for p in role.permissions])
