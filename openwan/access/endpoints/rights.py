"""Groups, roles, permissions and levels."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from openwan.access import permissions as P
from openwan.access import rights
from openwan.access.endpoints.out import group_detail, group_out, role_out
from openwan.access.schemas import (
    GroupIn,
    GroupOut,
    GroupPage,
    GroupPatch,
    LevelIn,
    LevelOut,
    LevelPatch,
    PermissionIn,
    PermissionOut,
    PermissionPatch,
    RoleIn,
    RoleOut,
    RolePatch,
)
from openwan.deps import CurrentUser, Require, SessionDep
from openwan.kit.ids import Id, Id32

groups_router = APIRouter(prefix="/api/v1/groups", tags=["groups"])
roles_router = APIRouter(prefix="/api/v1/roles", tags=["roles"])
permissions_router = APIRouter(prefix="/api/v1/permissions", tags=["permissions"])
levels_router = APIRouter(prefix="/api/v1/levels", tags=["levels"])

GroupManager = Require(P.ADMIN_GROUPS)
RoleManager = Require(P.ADMIN_ROLES)
LevelManager = Require(P.ADMIN_LEVELS)
Page = Annotated[int, Query(ge=1, le=100_000)]
Size = Annotated[int, Query(ge=1, le=200)]


@groups_router.get("", response_model=GroupPage)
def list_groups(user: GroupManager, session: SessionDep, page: Page = 1,
                size: Size = 50) -> GroupPage:
    total, items = rights.list_groups(session, page=page, size=size)
    counts = rights.member_counts(session, [g.id for g in items])
    return GroupPage(total=total, items=[group_out(g, members=counts.get(g.id, 0))
                                         for g in items], page=page, size=size)


@groups_router.post("", status_code=201, response_model=GroupOut)
def create_group(body: GroupIn, user: GroupManager, session: SessionDep) -> GroupOut:
    group = rights.create_group(session, user, name=body.name, roles=body.roles,
                                categories=body.categories, description=body.description,
                                quota_bytes=body.quota_bytes)
    return group_detail(session, group)


@groups_router.get("/{group_id}", response_model=GroupOut)
def get_group(group_id: Id, user: GroupManager, session: SessionDep) -> GroupOut:
    return group_detail(session, rights.get_group(session, group_id))


@groups_router.patch("/{group_id}", response_model=GroupOut)
def patch_group(group_id: Id, body: GroupPatch, user: GroupManager,
                session: SessionDep) -> GroupOut:
    group = rights.update_group(session, user, rights.get_group(session, group_id),
                                body.model_dump(exclude_unset=True))
    return group_detail(session, group)


@groups_router.delete("/{group_id}", status_code=204)
def delete_group(group_id: Id, user: GroupManager, session: SessionDep) -> Response:
    rights.delete_group(session, user, rights.get_group(session, group_id))
    return Response(status_code=204)


@roles_router.get("", response_model=list[RoleOut])
def list_roles(user: RoleManager, session: SessionDep) -> list[RoleOut]:
    return [role_out(r) for r in rights.list_roles(session)]


@roles_router.post("", status_code=201, response_model=RoleOut)
def create_role(body: RoleIn, user: RoleManager, session: SessionDep) -> RoleOut:
    return role_out(rights.create_role(session, user, name=body.name,
                                       permissions=body.permissions,
                                       description=body.description))


@roles_router.get("/{role_id}", response_model=RoleOut)
def get_role(role_id: Id, user: RoleManager, session: SessionDep) -> RoleOut:
    return role_out(rights.get_role(session, role_id))


@roles_router.patch("/{role_id}", response_model=RoleOut)
def patch_role(role_id: Id, body: RolePatch, user: RoleManager, session: SessionDep) -> RoleOut:
    return role_out(rights.update_role(session, user, rights.get_role(session, role_id),
                                       body.model_dump(exclude_unset=True)))


@roles_router.delete("/{role_id}", status_code=204)
def delete_role(role_id: Id, user: RoleManager, session: SessionDep) -> Response:
    rights.delete_role(session, user, rights.get_role(session, role_id))
    return Response(status_code=204)


@permissions_router.get("", response_model=list[PermissionOut])
def list_permissions(user: RoleManager, session: SessionDep) -> list:
    return rights.list_permissions(session)


@permissions_router.post("", status_code=201, response_model=PermissionOut)
def create_permission(body: PermissionIn, user: RoleManager, session: SessionDep):
    return rights.create_permission(session, user, name=body.name,
                                    description=body.description)


@permissions_router.get("/{permission_id}", response_model=PermissionOut)
def get_permission(permission_id: Id, user: RoleManager, session: SessionDep):
    return rights.get_permission(session, permission_id)


@permissions_router.patch("/{permission_id}", response_model=PermissionOut)
def patch_permission(permission_id: Id, body: PermissionPatch, user: RoleManager,
                     session: SessionDep):
    return rights.update_permission(session, user, rights.get_permission(session, permission_id),
                                    body.description)


@permissions_router.delete("/{permission_id}", status_code=204)
def delete_permission(permission_id: Id, user: RoleManager, session: SessionDep) -> Response:
    rights.delete_permission(session, user, rights.get_permission(session, permission_id))
    return Response(status_code=204)


@levels_router.get("", response_model=list[LevelOut])
def list_levels(user: CurrentUser, session: SessionDep) -> list:
    """Readable by everyone signed in: uploaders and reviewers pick from it."""
    return rights.list_levels(session)


@levels_router.post("", status_code=201, response_model=LevelOut)
def create_level(body: LevelIn, user: LevelManager, session: SessionDep):
    return rights.create_level(session, user, id=body.id, name=body.name,
                               description=body.description, enabled=body.enabled)


@levels_router.get("/{level_id}", response_model=LevelOut)
def get_level(level_id: Id32, user: CurrentUser, session: SessionDep):
    return rights.get_level(session, level_id)


@levels_router.patch("/{level_id}", response_model=LevelOut)
def patch_level(level_id: Id32, body: LevelPatch, user: LevelManager, session: SessionDep):
    return rights.update_level(session, user, rights.get_level(session, level_id),
                               body.model_dump(exclude_unset=True))


@levels_router.delete("/{level_id}", status_code=204)
def delete_level(level_id: Id32, user: LevelManager, session: SessionDep) -> Response:
    rights.delete_level(session, user, rights.get_level(session, level_id))
    return Response(status_code=204)
