"""The category tree: unlimited depth, materialised path ("/1/4/9/", ancestors then self)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, func, literal, select, update
from sqlalchemy.orm import Session

from openwan.access import audit
from openwan.kit.errors import Conflict, NotFound, Unprocessable
from openwan.models import Asset, AssetGroup, Category, User
from openwan.search import index as search_index


def get(session: Session, category_id: int) -> Category:
    category = session.get(Category, category_id)
    if category is None:
        raise NotFound(f"category {category_id} not found")
    return category


def _parent(session: Session, parent_id: int | None) -> Category | None:
    if parent_id is None:
        return None
    parent = session.get(Category, parent_id)
    if parent is None:
        raise Unprocessable(f"parent category {parent_id} does not exist", field="parent_id")
    return parent


def _check_name(session: Session, name: str, parent_id: int | None,
                exclude: int | None = None) -> str:
    name = (name or "").strip()
    if not name or len(name) > 255:
        raise Unprocessable("name must be 1 to 255 characters", field="name")
    query = select(Category.id).where(func.lower(Category.name) == name.lower())
    query = query.where(Category.parent_id.is_(None) if parent_id is None
                        else Category.parent_id == parent_id)
    if exclude is not None:
        query = query.where(Category.id != exclude)
    if session.scalar(query.limit(1)) is not None:
        raise Conflict(f"a category named {name!r} already exists here", field="name")
    return name


def snapshot(category: Category) -> dict[str, Any]:
    """What an audit entry records of a category, before and after a change."""
    return {"name": category.name, "parent_id": category.parent_id, "path": category.path,
            "weight": category.weight, "enabled": category.enabled}


def create(session: Session, name: str, parent_id: int | None = None, *, weight: int = 0,
           enabled: bool = True, actor: User | None = None) -> Category:
    """Add a category under ``parent_id`` (a root when None); audited as ``actor``."""
    parent = _parent(session, parent_id)
    name = _check_name(session, name, parent_id)
    category = Category(name=name, parent_id=parent_id, weight=weight, enabled=enabled, path="/")
    session.add(category)
    session.flush()
    category.path = f"{parent.path if parent else '/'}{category.id}/"
    session.flush()
    audit.record(session, "category.create", actor=actor, target=("category", category.id),
                 detail={"after": snapshot(category)})
    return category


def subtree_ids(session: Session, category: Category) -> list[int]:
    return list(session.scalars(select(Category.id).where(
        Category.path.startswith(category.path, autoescape=True))))


def _reindex_subtree(session: Session, ids: list[int]) -> None:
    """Category names are part of every asset's search text below a renamed/moved node."""
    asset_ids = list(session.scalars(select(Asset.id).where(Asset.category_id.in_(ids))))
    if asset_ids:
        search_index.reindex(session, asset_ids)


def change(session: Session, category: Category, changes: dict[str, Any], *,
           actor: User | None = None) -> Category:
    """Rename, move (``parent_id``), re-weight, enable or disable a category (audited)."""
    before = snapshot(category)
    reindex = False
    if "parent_id" in changes and changes["parent_id"] != category.parent_id:
        new_parent = _parent(session, changes["parent_id"])
        if new_parent is not None and new_parent.path.startswith(category.path):
            raise Unprocessable("a category cannot move below itself", field="parent_id")
        _check_name(session, changes.get("name") or category.name, changes["parent_id"],
                    exclude=category.id)
        old_path = category.path
        new_path = f"{new_parent.path if new_parent else '/'}{category.id}/"
        # Rewrite the path prefix of the whole subtree in one statement.
        session.execute(
            update(Category)
            .where(Category.path.startswith(old_path, autoescape=True))
            .values(path=literal(new_path, String(767))
                    + func.substr(Category.path, len(old_path) + 1))
            .execution_options(synchronize_session=False))
        category.parent_id = changes["parent_id"]
        session.flush()
        session.expire_all()
        category = get(session, category.id)
        reindex = True
    if changes.get("name") is not None and changes["name"] != category.name:
        category.name = _check_name(session, changes["name"], category.parent_id,
                                    exclude=category.id)
        reindex = True
    if changes.get("weight") is not None:
        category.weight = changes["weight"]
    if changes.get("enabled") is not None:
        category.enabled = changes["enabled"]
    session.flush()
    if reindex:
        _reindex_subtree(session, subtree_ids(session, category))
    detail = audit.changes(before, snapshot(category))
    if detail["after"]:
        audit.record(session, "category.update", actor=actor,
                     target=("category", category.id), detail=detail)
    return category


def delete(session: Session, category: Category, move_to: int | None = None, *,
           actor: User | None = None) -> int:
    """Remove an empty leaf; with ``move_to`` its assets move there first (audited, with the
    assets moved). Returns how many moved."""
    if session.scalar(select(func.count()).where(Category.parent_id == category.id)):
        raise Conflict(f"category {category.id} has subcategories; move or delete them first",
                       code="not_empty")
    asset_ids = list(session.scalars(select(Asset.id).where(Asset.category_id == category.id)))
    if asset_ids and move_to is None:
        raise Conflict(f"category {category.id} holds {len(asset_ids)} assets; "
                       "pass move_to=<category id> to move them", code="not_empty",
                       assets=len(asset_ids))
    if asset_ids:
        target = session.get(Category, move_to)
        if target is None:
            raise Unprocessable(f"category {move_to} does not exist", field="move_to")
        if target.id == category.id:
            raise Unprocessable("move_to must be another category", field="move_to")
        session.execute(update(Asset).where(Asset.id.in_(asset_ids))
                        .values(category_id=target.id)
                        .execution_options(synchronize_session=False))
        # The rights filter's copy (see ``AssetGroup``) moves with them.
        session.execute(update(AssetGroup).where(AssetGroup.asset_id.in_(asset_ids))
                        .values(category_id=target.id)
                        .execution_options(synchronize_session=False))
        session.flush()
        session.expire_all()
        search_index.reindex(session, asset_ids)
    gone = session.get(Category, category.id)
    category_id = gone.id
    detail: dict[str, Any] = {"before": snapshot(gone)}
    if asset_ids:
        detail.update(move_to=move_to, moved_assets=len(asset_ids))
    session.delete(gone)
    session.flush()
    audit.record(session, "category.delete", actor=actor, target=("category", category_id),
                 detail=detail)
    return len(asset_ids)


def listing(session: Session, *, include_disabled: bool) -> list[Category]:
    query = select(Category).order_by(Category.weight.desc(), Category.name, Category.id)
    if not include_disabled:
        query = query.where(Category.enabled.is_(True))
    rows = list(session.scalars(query))
    if include_disabled:
        return rows
    # A disabled category hides its whole subtree.
    enabled_ids = {c.id for c in rows}
    return [c for c in rows
            if all(int(p) in enabled_ids for p in c.path.strip("/").split("/") if p)]


def tree(categories: list[Category]) -> list[dict[str, Any]]:
    nodes = {c.id: {"id": c.id, "parent_id": c.parent_id, "name": c.name, "path": c.path,
                    "weight": c.weight, "enabled": c.enabled, "children": []}
             for c in categories}
    roots = []
    for c in categories:
        node = nodes[c.id]
        parent = nodes.get(c.parent_id) if c.parent_id is not None else None
        (parent["children"] if parent else roots).append(node)
    return roots
