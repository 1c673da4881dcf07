"""Bulk workflow actions: the single-asset workflow service applied to many assets.

Each asset goes through exactly the same checks as its single action (visible to the caller,
permitted, in the right state), with a result per id. The workflow functions check before
they change anything, so a refused asset leaves nothing behind while the others proceed, all
in the caller's one transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openwan.kit.errors import APIError, NotFound, Unprocessable
from openwan.models import Asset, User

ACTIONS = ("submit", "approve", "reject", "delete", "restore")
MAX_IDS = 500


def run(session: Session, user: User, action: str, ids: list[int], *,
        level: int | None = None, groups: Any = None, download: bool | None = None,
        comment: str | None = None) -> list[dict[str, Any]]:
    """Apply ``action`` to every id (in the order given, duplicates once); per-id results."""
    from openwan.workflow import service as workflow

    if action not in ACTIONS:
        raise Unprocessable(f"action must be one of {', '.join(ACTIONS)}", field="action")
    unique = list(dict.fromkeys(ids))
    if not unique or len(unique) > MAX_IDS:
        raise Unprocessable(f"ids must list 1 to {MAX_IDS} asset ids", field="ids")
    if action == "reject" and not (comment or "").strip():
        raise Unprocessable("reject needs a comment saying what to fix", field="comment")
    assets = {a.id: a for a in session.scalars(select(Asset).where(Asset.id.in_(unique)))}
    results: list[dict[str, Any]] = []
    for asset_id in unique:
        asset = assets.get(asset_id)
        try:
            if asset is None:
                raise NotFound(f"asset {asset_id} not found")
            if action == "approve":
                workflow.approve(session, user, asset, level=level, groups=groups,
                                 download=download)
            elif action == "reject":
                workflow.reject(session, user, asset, comment=comment or "")
            else:
                getattr(workflow, action)(session, user, asset)
        except APIError as exc:
            results.append({"id": asset_id, "ok": False, "status": exc.status,
                            "error": {"code": exc.code, "message": exc.message}})
            continue
        results.append({"id": asset_id, "ok": True, "asset_status": asset.status})
    return results
