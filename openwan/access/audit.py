"""The audit log: written by services inside the caller's transaction, read by auditors.

Nothing in the API writes to it; it is append-only from the application's point of view.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openwan.access.rules import request_ip
from openwan.models import AuditEntry, User, utcnow

MAX_DETAIL_TEXT = 2000


def record(session: Session, action: str, *, actor: User | None = None,
           actor_name: str | None = None, ip: str | None = None,
           target: tuple[str, Any] | None = None, success: bool = True,
           detail: dict[str, Any] | None = None) -> AuditEntry:
    """Add one entry: ``action`` such as ``asset.approve``; ``target`` as (type, id).

    ``ip`` defaults to the address of the request the actor came in with.
    """
    entry = AuditEntry(
        at=utcnow(),
        actor_id=actor.id if actor is not None else None,
        actor=(actor.username if actor is not None else actor_name or None),
        ip=ip if ip is not None else request_ip(actor),
        action=action,
        target_type=target[0] if target else None,
        target_id=str(target[1])[:64] if target and target[1] is not None else None,
        success=success,
        detail=_trim(detail or {}),
    )
    if entry.actor:
        entry.actor = entry.actor[:64]
    session.add(entry)
    session.flush()
    return entry


def _trim(value: Any) -> Any:
    """Keep entries bounded: long strings (a huge comment, a long username) are cut."""
    if isinstance(value, str):
        return value if len(value) <= MAX_DETAIL_TEXT else value[:MAX_DETAIL_TEXT] + "…"
    if isinstance(value, dict):
        return {str(k)[:128]: _trim(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else list(value)
        return [_trim(v) for v in items[:1000]]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """``{"before": {...}, "after": {...}}`` limited to the keys whose values differ."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {"before": {k: before.get(k) for k in keys}, "after": {k: after.get(k) for k in keys}}


def search(session: Session, *, page: int, size: int, actor_id: int | None = None,
           actor: str | None = None, action: str | None = None,
           target_type: str | None = None, target_id: str | None = None,
           success: bool | None = None, since: datetime | None = None,
           until: datetime | None = None) -> tuple[int, list[AuditEntry]]:
    """Entries matching the filters, newest first. ``action`` ending in "." is a prefix."""
    query = select(AuditEntry)
    if actor_id is not None:
        query = query.where(AuditEntry.actor_id == actor_id)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if action:
        query = query.where(AuditEntry.action.startswith(action, autoescape=True)
                            if action.endswith(".") else AuditEntry.action == action)
    if target_type:
        query = query.where(AuditEntry.target_type == target_type)
    if target_id:
        query = query.where(AuditEntry.target_id == target_id)
    if success is not None:
        query = query.where(AuditEntry.success.is_(success))
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                           .offset((page - 1) * size).limit(size)).all()
    return total, list(rows)


def actions(session: Session) -> list[str]:
    """Every action the log holds, sorted (what an auditor's filter offers)."""
    return list(session.scalars(select(AuditEntry.action).distinct().order_by(
        AuditEntry.action)))
