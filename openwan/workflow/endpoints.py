"""Workflow actions on one asset: submit, approve, reject, restore, purge (delete is
``DELETE /api/v1/assets/{id}``), and what a reviewer chooses from when approving."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import select

from openwan.access import permissions as P
from openwan.assets.schemas import AssetId, AssetOut
from openwan.deps import CurrentUser, Require, SessionDep, StorageDep
from openwan.kit.errors import NotFound
from openwan.models import Asset, Group, Level
from openwan.workflow import service
from openwan.workflow.schemas import ApproveIn, RejectIn

# What the app includes: the actions under /api/v1/assets and the reviewer's choices.
router = APIRouter(tags=["workflow"])
actions = APIRouter(prefix="/api/v1/assets", tags=["workflow"])
Reviewer = Require(P.ASSET_REVIEW)

ERRORS = {403: {"description": "visible, but the action needs a right the caller lacks"},
          404: {"description": "no such asset, or not visible to the caller"},
          409: {"description": "the asset is not in a state this action applies to"}}


def _load(session, asset_id: int) -> Asset:
    asset = session.get(Asset, asset_id)
    if asset is None:
        raise NotFound(f"asset {asset_id} not found")
    return asset


@actions.post("/{asset_id}/submit", response_model=AssetOut, responses=ERRORS)
def submit(asset_id: AssetId, user: CurrentUser, session: SessionDep) -> Asset:
    """new or rejected → pending (awaiting review)."""
    return service.submit(session, user, _load(session, asset_id))


@actions.post("/{asset_id}/approve", response_model=AssetOut, responses=ERRORS)
def approve(asset_id: AssetId, user: CurrentUser, session: SessionDep,
            body: ApproveIn | None = None) -> Asset:
    """pending → published, with the browse level, allowed groups and download flag
    (each optional: the asset's current value is kept)."""
    body = body or ApproveIn()
    return service.approve(session, user, _load(session, asset_id), level=body.level,
                           groups=body.groups, download=body.download)


@actions.post("/{asset_id}/reject", response_model=AssetOut, responses=ERRORS)
def reject(asset_id: AssetId, body: RejectIn, user: CurrentUser, session: SessionDep) -> Asset:
    """pending → rejected (sent back), the comment kept on the asset."""
    return service.reject(session, user, _load(session, asset_id), comment=body.comment)


@actions.post("/{asset_id}/restore", response_model=AssetOut, responses=ERRORS)
def restore(asset_id: AssetId, user: CurrentUser, session: SessionDep) -> Asset:
    """deleted → the status it had before."""
    return service.restore(session, user, _load(session, asset_id))


@actions.post("/{asset_id}/purge", status_code=204, responses=ERRORS)
def purge(asset_id: AssetId, user: CurrentUser, session: SessionDep,
          storage: StorageDep) -> Response:
    """deleted → gone for good: the original, its renditions and its rows (asset.delete)."""
    service.purge(session, user, _load(session, asset_id), storage)
    return Response(status_code=204)


@router.get("/api/v1/review/choices")
def review_choices(user: Reviewer, session: SessionDep) -> dict[str, Any]:
    """The levels and groups an approval may name, for reviewers (listing groups otherwise
    needs admin.groups): ids, names and descriptions only."""
    levels = session.scalars(select(Level).order_by(Level.id))
    groups = session.execute(select(Group.id, Group.name).order_by(Group.name, Group.id))
    return {"levels": [{"id": lv.id, "name": lv.name, "description": lv.description,
                        "enabled": lv.enabled} for lv in levels],
            "groups": [{"id": gid, "name": name} for gid, name in groups]}


router.include_router(actions)
