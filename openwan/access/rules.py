"""Who may see and fetch an asset. One place, applied inside queries and to single rows.

The foundation's rule: administrators see everything; uploaders see their own assets;
everyone else sees published assets at or below their clearance. The access-control model
(groups, categories, roles) refines this module.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, or_, true

from openwan.models import Asset, AssetStatus, User


def visible_clause(user: User) -> ColumnElement[bool]:
    if user.is_admin:
        return true()
    return or_(
        Asset.uploaded_by == user.id,
        and_(Asset.status == AssetStatus.published, Asset.level <= user.level),
    )


def can_view(user: User, asset: Asset) -> bool:
    if user.is_admin or asset.uploaded_by == user.id:
        return True
    return asset.status == AssetStatus.published and asset.level <= user.level


def can_download(user: User, asset: Asset) -> bool:
    if user.is_admin or asset.uploaded_by == user.id:
        return True
    return can_view(user, asset) and asset.download


def can_edit(user: User, asset: Asset) -> bool:
    return user.is_admin or (asset.uploaded_by == user.id
                             and asset.status in (AssetStatus.new, AssetStatus.rejected))
