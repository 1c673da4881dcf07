"""Every table, one model file each; import from here."""

from openwan.models.asset import Asset, AssetStatus, AssetType, MediaState
from openwan.models.base import Base, utcnow
from openwan.models.category import Category
from openwan.models.upload import Upload
from openwan.models.user import User

__all__ = [
    "Asset",
    "AssetStatus",
    "AssetType",
    "Base",
    "Category",
    "MediaState",
    "Upload",
    "User",
    "utcnow",
]
