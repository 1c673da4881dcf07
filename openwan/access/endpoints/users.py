from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from openwan.access import permissions as P
from openwan.access import service
from openwan.access.endpoints.out import user_out
from openwan.access.schemas import UserCreate, UserOut, UserPage, UserPatch
from openwan.deps import Require, SessionDep
from openwan.kit.ids import Id

router = APIRouter(prefix="/api/v1/users", tags=["users"])
Manager = Require(P.ADMIN_USERS)


@router.get("", response_model=UserPage)
def list_users(user: Manager, session: SessionDep, q: Annotated[str | None, Query(
        max_length=64)] = None, group_id: Id | None = None, enabled: bool | None = None,
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
        size: Annotated[int, Query(ge=1, le=200)] = 50) -> UserPage:
    total, items = service.list_users(session, page=page, size=size, q=q, group_id=group_id,
                                      enabled=enabled)
    return UserPage(total=total, items=[user_out(u) for u in items], page=page, size=size)


@router.post("", status_code=201, response_model=UserOut)
def create_user(body: UserCreate, user: Manager, session: SessionDep) -> UserOut:
    """Roles normally come through ``groups`` (as in OpenWan); ``roles`` adds direct ones."""
    created = service.create_user(
        session, body.username, body.password, display_name=body.display_name,
        is_admin=body.is_admin, level=body.level, email=body.email, groups=body.groups,
        roles=body.roles, actor=user, phone=body.phone, department=body.department,
        description=body.description)
    if not body.enabled or body.locked:
        created.enabled, created.locked = body.enabled, body.locked
    session.flush()
    return user_out(created)


@router.get("/{user_id}", response_model=UserOut)
def get_user(user_id: Id, user: Manager, session: SessionDep) -> UserOut:
    return user_out(service.get_user(session, user_id))


@router.patch("/{user_id}", response_model=UserOut)
def patch_user(user_id: Id, body: UserPatch, user: Manager, session: SessionDep) -> UserOut:
    target = service.get_user(session, user_id)
    return user_out(service.update_user(session, user, target,
                                        body.model_dump(exclude_unset=True)))


@router.delete("/{user_id}", status_code=204)
def delete_user(user_id: Id, user: Manager, session: SessionDep) -> Response:
    service.delete_user(session, user, service.get_user(session, user_id))
    return Response(status_code=204)
