"""Every table, one model file each; import from here."""

from openwan.models.asset import Asset, AssetStatus, AssetType, MediaState
from openwan.models.base import Base, utcnow
from openwan.models.catalog_field import CatalogField, FieldKind
from openwan.models.catalog_value import CatalogValue
from openwan.models.category import Category
from openwan.models.search_document import SearchDocument
from openwan.models.upload import Upload
from openwan.models.user import User

__all__ = [
    "Asset",
    "AssetStatus",
    "AssetType",
    "Base",
    "CatalogField",
    "CatalogValue",
    "Category",
    "FieldKind",
    "MediaState",
    "SearchDocument",
    "Upload",
    "User",
    "utcnow",
]
