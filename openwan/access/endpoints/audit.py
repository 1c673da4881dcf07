from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from openwan.access import audit
from openwan.access import permissions as P
from openwan.access.schemas import AuditOut, AuditPage
from openwan.deps import Require, SessionDep
from openwan.kit.ids import Id

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])
Auditor = Require(P.AUDIT_READ)


@router.get("", response_model=AuditPage)
def read_audit(
    user: Auditor, session: SessionDep,
    actor_id: Id | None = None,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64, description=(
        "exact action, or a prefix ending in '.' such as 'asset.'"))] = None,
    target_type: Annotated[str | None, Query(max_length=32)] = None,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
    success: bool | None = None,
    since: Annotated[datetime | None, Query(alias="from")] = None,
    until: Annotated[datetime | None, Query(alias="to")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AuditPage:
    """The audit log, newest first. Read-only: nothing in the API writes to it."""
    from datetime import UTC

    since = since.replace(tzinfo=UTC) if since and since.tzinfo is None else since
    until = until.replace(tzinfo=UTC) if until and until.tzinfo is None else until
    total, items = audit.search(session, page=page, size=size, actor_id=actor_id, actor=actor,
                                action=action, target_type=target_type, target_id=target_id,
                                success=success, since=since, until=until)
    return AuditPage(total=total, items=[AuditOut.model_validate(e) for e in items],
                     page=page, size=size)


@router.get("/actions", response_model=list[str])
def audit_actions(user: Auditor, session: SessionDep) -> list[str]:
    """The actions recorded so far (``user.update``, ``category.delete``, ...), sorted."""
    return audit.actions(session)
