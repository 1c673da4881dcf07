"""Administration of the category tree and the catalogue schemas."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from openwan.access import permissions as P
from openwan.access import rules
from openwan.catalog import bulk, categories, fields
from openwan.catalog.permissions import require_admin
from openwan.catalog.schemas import (
    BulkIn,
    CategoryIn,
    CategoryOut,
    CategoryPatch,
    FieldIn,
    FieldOut,
    FieldPatch,
    MediaType,
)
from openwan.deps import CurrentUser, SessionDep
from openwan.kit.errors import NotFound
from openwan.kit.ids import Id

router = APIRouter(prefix="/api/v1", tags=["catalogue"])


@router.get("/categories")
def list_categories(user: CurrentUser, session: SessionDep,
                    flat: bool = False) -> dict[str, Any]:
    """The category tree (``flat=true``: a list ordered by weight). Disabled categories and
    their subtrees are shown to category administrators only; a caller whose groups are
    bound to some categories sees those (with their subtrees) and no other names, unless
    they administer categories or groups (who bind them)."""
    manager = rules.has_permission(user, P.ADMIN_CATEGORIES)
    rows = categories.listing(session, include_disabled=manager)
    if not _sees_every_category(user):
        covered = rules.access_of(user).categories
        rows = [c for c in rows if c.id in covered]
    if flat:
        items = [CategoryOut.model_validate(c).model_dump() for c in rows]
        return {"total": len(items), "items": items}
    return {"total": len(rows), "items": categories.tree(rows)}


@router.get("/categories/{category_id}", response_model=CategoryOut)
def get_category(category_id: Id, user: CurrentUser, session: SessionDep):
    category = categories.get(session, category_id)
    hidden = not category.enabled and not rules.has_permission(user, P.ADMIN_CATEGORIES)
    if hidden or not (_sees_every_category(user)
                      or category.id in rules.access_of(user).categories):
        raise NotFound(f"category {category_id} not found")
    return category


def _sees_every_category(user) -> bool:
    access = rules.access_of(user)
    return access.categories is None or access.has(P.ADMIN_CATEGORIES) or \
        access.has(P.ADMIN_GROUPS)


@router.post("/categories", status_code=201, response_model=CategoryOut)
def create_category(body: CategoryIn, user: CurrentUser, session: SessionDep):
    require_admin(user, P.ADMIN_CATEGORIES)
    return categories.create(session, body.name, body.parent_id, weight=body.weight,
                             enabled=body.enabled, actor=user)


@router.patch("/categories/{category_id}", response_model=CategoryOut)
def patch_category(category_id: Id, body: CategoryPatch, user: CurrentUser,
                   session: SessionDep):
    """Rename, move (``parent_id``; null moves to the root), re-weight, enable/disable."""
    require_admin(user, P.ADMIN_CATEGORIES)
    category = categories.get(session, category_id)
    return categories.change(session, category, body.model_dump(exclude_unset=True),
                             actor=user)


@router.delete("/categories/{category_id}", status_code=204)
def delete_category(category_id: Id, user: CurrentUser, session: SessionDep,
                    move_to: Id | None = None) -> Response:
    """Delete a category without subcategories; its assets move to ``move_to`` (409 when it
    holds assets and no target is given)."""
    require_admin(user, P.ADMIN_CATEGORIES)
    categories.delete(session, categories.get(session, category_id), move_to, actor=user)
    return Response(status_code=204)


@router.post("/assets/bulk")
def bulk_action(body: BulkIn, user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    """One workflow action on many assets: ``{"action", "ids", ...}`` with the action's own
    fields (approve: level, groups, download; reject: comment). Always 200 with a result per
    id (``ok``, or the ``status`` and ``error`` its single action would have answered)."""
    results = bulk.run(session, user, body.action, body.ids, level=body.level,
                       groups=body.groups, download=body.download, comment=body.comment)
    succeeded = sum(1 for r in results if r["ok"])
    return {"action": body.action, "succeeded": succeeded,
            "failed": len(results) - succeeded, "results": results}


@router.get("/catalog-fields")
def list_fields(user: CurrentUser, session: SessionDep, type: MediaType | None = None,
                include_archived: bool = False, flat: bool = False) -> dict[str, Any]:
    """Catalogue schemas: groups with their fields, per media type."""
    manager = rules.has_permission(user, P.ADMIN_CATALOG)
    nodes = fields.schema(session, type, include_archived=include_archived and manager)
    if not manager:
        nodes = [n for n in nodes if n.enabled]
    items = [fields.describe(n) for n in nodes] if flat else fields.as_tree(nodes)
    return {"total": len(items), "items": items}


@router.get("/catalog-fields/{field_id}", response_model=FieldOut)
def get_field(field_id: Id, user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    return fields.describe(fields.get(session, field_id))


@router.post("/catalog-fields", status_code=201, response_model=FieldOut)
def create_field(body: FieldIn, user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    require_admin(user, P.ADMIN_CATALOG)
    return fields.describe(fields.create(session, body.model_dump(), actor=user))


@router.patch("/catalog-fields/{field_id}", response_model=FieldOut)
def patch_field(field_id: Id, body: FieldPatch, user: CurrentUser,
                session: SessionDep) -> dict[str, Any]:
    require_admin(user, P.ADMIN_CATALOG)
    node = fields.get(session, field_id)
    return fields.describe(fields.change(session, node, body.model_dump(exclude_unset=True),
                                         actor=user))


@router.delete("/catalog-fields/{field_id}", responses={
    200: {"description": "archived: values exist and archive=true"},
    204: {"description": "deleted"}, 409: {"description": "values exist"}})
def delete_field(field_id: Id, user: CurrentUser, session: SessionDep,
                 archive: Annotated[bool, Query()] = False) -> Response:
    require_admin(user, P.ADMIN_CATALOG)
    node = fields.get(session, field_id)
    if fields.delete(session, node, archive=archive, actor=user):
        return JSONResponse(fields.describe(node))
    return Response(status_code=204)
