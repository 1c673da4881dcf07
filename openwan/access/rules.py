"""Who may see, fetch, edit and move an asset. The single place for OpenWan's access rule.

A viewer sees an asset when it is published, its level is within their clearance, its allowed
groups are "all" or include one of theirs, and its category is bound to one of their groups
(or one of their groups has every category). On top of that:

- uploaders see their own assets (except in the recycle bin);
- ``asset.catalog`` sees new, pending and sent-back assets of bound categories;
- ``asset.review`` sees pending, sent-back and published assets of bound categories (whatever
  their allowed groups: reviewers are the ones who set them);
- ``asset.delete`` sees the recycle bin of bound categories;
- administrators (the root flag or the ADMIN role) see everything.

Extended visibility still respects the caller's clearance. A category binding covers the
category's whole subtree. The per-caller facts (groups, permissions, categories) are computed
once per request (:func:`access_of`) so that :func:`visible_clause` is plain ``IN`` lists the
database can use inside the query: paging and totals stay correct. :func:`visible_branches`
gives the same rule as disjoint parts, each answered from an index of ``assets`` or
``asset_groups`` (whose rows carry copies of their asset's status, level and category), so
that a listing's total is a sum of index range counts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, false, or_, select, true, union
from sqlalchemy.orm import Session, object_session

from openwan.access import permissions as P
from openwan.models import (
    Asset,
    AssetGroup,
    AssetStatus,
    Category,
    Group,
    Permission,
    Role,
    User,
    group_categories,
    group_roles,
    role_permissions,
    user_groups,
    user_roles,
)

_ACCESS_ATTR = "_openwan_access"
_IP_ATTR = "_openwan_ip"

# Statuses each right adds to what the caller sees in bound categories.
EXTRA_STATUSES = {
    P.ASSET_CATALOG: (AssetStatus.new, AssetStatus.pending, AssetStatus.rejected),
    P.ASSET_REVIEW: (AssetStatus.pending, AssetStatus.published, AssetStatus.rejected),
    P.ASSET_DELETE: (AssetStatus.deleted,),
}
LIVE = (AssetStatus.new, AssetStatus.pending, AssetStatus.published, AssetStatus.rejected)


@dataclass(frozen=True)
class Access:
    """What one caller may do, resolved from their groups and roles."""

    user_id: int
    is_admin: bool
    clearance: int
    group_ids: frozenset[int]
    roles: frozenset[str]
    permissions: frozenset[str]
    # None: every category (a group bound to "all"); otherwise ids, subtrees included.
    categories: frozenset[int] | None

    def has(self, permission: str) -> bool:
        return self.is_admin or permission in self.permissions

    def covers_category(self, category_id: int | None) -> bool:
        if self.categories is None:
            return True
        return category_id is not None and category_id in self.categories


def resolve(session: Session, user: User) -> Access:
    """Compute a user's groups, roles, permissions and visible categories (a few queries)."""
    group_ids = frozenset(session.scalars(
        select(user_groups.c.group_id).where(user_groups.c.user_id == user.id)).all())
    role_ids = union(
        select(group_roles.c.role_id).where(group_roles.c.group_id.in_(group_ids)),
        select(user_roles.c.role_id).where(user_roles.c.user_id == user.id),
    ).subquery()
    rows = session.execute(
        select(Role.name, Permission.name)
        .select_from(Role)
        .outerjoin(role_permissions, role_permissions.c.role_id == Role.id)
        .outerjoin(Permission, Permission.id == role_permissions.c.permission_id)
        .where(Role.id.in_(select(role_ids.c.role_id)))).all()
    roles = frozenset(role for role, _ in rows)
    is_admin = bool(user.is_admin) or P.ADMIN_ROLE in roles
    if is_admin:
        perms = frozenset(session.scalars(select(Permission.name)).all())
    else:
        perms = frozenset(name for _, name in rows if name)
    categories: frozenset[int] | None
    if is_admin or (group_ids and session.scalar(
            select(Group.id).where(Group.id.in_(group_ids), Group.all_categories).limit(1))):
        categories = None
    else:
        bound = session.scalars(select(group_categories.c.category_id)
                                .where(group_categories.c.group_id.in_(group_ids))).all()
        categories = frozenset(_with_subtrees(session, set(bound)))
    return Access(user_id=user.id, is_admin=is_admin, clearance=user.level,
                  group_ids=group_ids, roles=roles, permissions=perms, categories=categories)


def access_to_bytes(access: Access) -> bytes:
    """``access`` as JSON, for the shared cache (see ``openwan.deps``)."""
    return json.dumps({
        "user_id": access.user_id, "is_admin": access.is_admin, "clearance": access.clearance,
        "group_ids": sorted(access.group_ids), "roles": sorted(access.roles),
        "permissions": sorted(access.permissions),
        "categories": None if access.categories is None else sorted(access.categories),
    }, separators=(",", ":")).encode()


def access_from_bytes(data: bytes) -> Access:
    raw = json.loads(data)
    categories = raw["categories"]
    return Access(user_id=raw["user_id"], is_admin=raw["is_admin"], clearance=raw["clearance"],
                  group_ids=frozenset(raw["group_ids"]), roles=frozenset(raw["roles"]),
                  permissions=frozenset(raw["permissions"]),
                  categories=None if categories is None else frozenset(categories))


def attach_access(user: User, access: Access) -> None:
    """Give ``user`` rights resolved elsewhere (the cache); ``access_of`` then returns them."""
    user.__dict__[_ACCESS_ATTR] = access


def _with_subtrees(session: Session, bound: set[int]) -> set[int]:
    if not bound:
        return set()
    # "/{id}/" inside a materialised path marks a descendant whether or not a node's path
    # ends with its own id.
    found = session.scalars(select(Category.id).where(or_(
        Category.id.in_(bound), *(Category.path.like(f"%/{cid}/%") for cid in sorted(bound))
    ))).all()
    return set(found) | bound


def access_of(user: User, session: Session | None = None) -> Access:
    """The caller's :class:`Access`, computed once and kept on the user object for the request."""
    cached = user.__dict__.get(_ACCESS_ATTR)
    if cached is not None:
        return cached
    session = session or object_session(user)
    if session is None:
        raise RuntimeError("access_of needs the user attached to a session, or a session")
    access = resolve(session, user)
    user.__dict__[_ACCESS_ATTR] = access
    return access


def forget_access(user: User) -> None:
    """Drop the cached :class:`Access` (after the user's groups or roles changed)."""
    user.__dict__.pop(_ACCESS_ATTR, None)


def remember_ip(user: User, ip: str | None) -> None:
    """Note where the current request comes from, for the audit log."""
    user.__dict__[_IP_ATTR] = ip


def request_ip(user: User | None) -> str | None:
    return user.__dict__.get(_IP_ATTR) if user is not None else None


# Rights over rights: an account manager hands these out only when holding them too.
SENSITIVE_PREFIXES = ("admin.", "audit.")


def beyond(access: Access, permissions: set[str] | frozenset[str]) -> list[str]:
    """The administrative permissions among ``permissions`` that ``access`` lacks.

    Asset rights (upload, catalogue, review, download, delete) are what account managers hand
    out every day; rights over accounts and rights are only passed on by those who hold them.
    """
    if access.is_admin:
        return []
    return sorted(p for p in permissions
                  if p.startswith(SENSITIVE_PREFIXES) and p not in access.permissions)


def has_permission(user: User, permission: str) -> bool:
    return access_of(user).has(permission)


def _category_clause(access: Access) -> ColumnElement[bool]:
    if access.categories is None:
        return true()
    if not access.categories:
        return false()
    return Asset.category_id.in_(sorted(access.categories))


def _groups_clause(access: Access) -> ColumnElement[bool]:
    if not access.group_ids:
        return Asset.all_groups.is_(True)
    # A non-correlated IN: the database builds the set of open assets once per query, from
    # one index range of ``asset_groups`` narrowed to what the published branch can use.
    links = select(AssetGroup.asset_id).where(
        AssetGroup.group_id.in_(sorted(access.group_ids)),
        AssetGroup.status == AssetStatus.published, AssetGroup.level <= access.clearance)
    if access.categories is not None:
        links = links.where(AssetGroup.category_id.in_(sorted(access.categories)))
    return or_(Asset.all_groups.is_(True), Asset.id.in_(links))


def visible_branches(user: User, access: Access | None = None) -> list[ColumnElement[bool]] | None:
    """:func:`visible_clause` as disjoint WHERE clauses on ``Asset``; None for administrators
    (everything).

    No asset matches two branches, so a total is the sum of the branches' counts, and each
    branch is a plain conjunction that the database answers from one index range
    (``ix_assets_visible``, ``ix_assets_uploaded_by``) instead of testing an OR row by row.
    """
    access = access or access_of(user)
    if access.is_admin:
        return None
    own = and_(Asset.uploaded_by == access.user_id, Asset.status != AssetStatus.deleted)
    branches: list[ColumnElement[bool]] = [own]
    if access.categories is not None and not access.categories:
        return branches
    not_own = or_(Asset.uploaded_by.is_(None), Asset.uploaded_by != access.user_id,
                  Asset.status == AssetStatus.deleted)
    in_scope = and_(Asset.level <= access.clearance, _category_clause(access))
    extra = sorted({s for perm, statuses in EXTRA_STATUSES.items()
                    if perm in access.permissions for s in statuses})
    # With ``published`` among the extra statuses (reviewers), the extra branch holds every
    # asset of the published one.
    if AssetStatus.published not in extra:
        branches.append(and_(Asset.status == AssetStatus.published, in_scope,
                             _groups_clause(access), not_own))
    if extra:
        branches.append(and_(Asset.status.in_(extra), in_scope, not_own))
    return branches


def visible_clause(user: User, access: Access | None = None) -> ColumnElement[bool]:
    """A WHERE clause on ``Asset`` selecting exactly what ``user`` may see."""
    branches = visible_branches(user, access)
    return true() if branches is None else or_(*branches)


def _in_scope(access: Access, asset: Asset) -> bool:
    return asset.level <= access.clearance and access.covers_category(asset.category_id)


def _groups_allow(access: Access, asset: Asset) -> bool:
    groups = asset.groups
    return groups == "all" or groups is None or bool(access.group_ids.intersection(groups))


def can_view(user: User, asset: Asset) -> bool:
    """The row-level twin of :func:`visible_clause`."""
    access = access_of(user)
    if access.is_admin:
        return True
    if asset.uploaded_by == access.user_id and asset.status != AssetStatus.deleted:
        return True
    if (asset.status == AssetStatus.published and _in_scope(access, asset)
            and _groups_allow(access, asset)):
        return True
    return any(asset.status in statuses and perm in access.permissions
               for perm, statuses in EXTRA_STATUSES.items()) and _in_scope(access, asset)


def can_manage(user: User, asset: Asset, permission: str) -> bool:
    """``permission`` (catalog, review, delete) held over this asset's category and level."""
    access = access_of(user)
    return access.is_admin or (permission in access.permissions and _in_scope(access, asset))


def can_download(user: User, asset: Asset) -> bool:
    """Viewing, plus the asset's download flag and ``asset.download`` (uploaders, reviewers
    of the asset's category and administrators need neither)."""
    access = access_of(user)
    if access.is_admin:
        return True
    if not can_view(user, asset):
        return False
    if asset.uploaded_by == access.user_id or can_manage(user, asset, P.ASSET_REVIEW):
        return True
    return (asset.status == AssetStatus.published and bool(asset.download)
            and P.ASSET_DOWNLOAD in access.permissions)


def edit_states(user: User, asset: Asset) -> frozenset[str]:
    """The statuses in which ``user`` could edit this asset's title, category and metadata."""
    access = access_of(user)
    if access.is_admin:
        return frozenset(LIVE)
    states: set[str] = set()
    if asset.uploaded_by == access.user_id:
        states |= {AssetStatus.new, AssetStatus.rejected}
    if can_manage(user, asset, P.ASSET_CATALOG):
        states |= {AssetStatus.new, AssetStatus.rejected}
    if can_manage(user, asset, P.ASSET_REVIEW):
        states.add(AssetStatus.pending)
    return frozenset(states)


def can_edit(user: User, asset: Asset) -> bool:
    return asset.status in edit_states(user, asset)


def can_use_category(user: User, category_id: int | None) -> bool:
    """Whether ``user`` may file an asset under ``category_id`` (upload, move)."""
    access = access_of(user)
    return access.is_admin or category_id is None or access.covers_category(category_id)
