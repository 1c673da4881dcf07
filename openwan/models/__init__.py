"""Every table, one model file each; import from here."""

from openwan.models.api_token import ApiToken
from openwan.models.asset import Asset, AssetStatus, AssetType, MediaState
from openwan.models.asset_group import AssetGroup
from openwan.models.audit import AuditEntry
from openwan.models.auth_session import AuthSession
from openwan.models.base import Base, utcnow
from openwan.models.catalog_field import CatalogField, FieldKind
from openwan.models.catalog_value import CatalogValue
from openwan.models.category import Category
from openwan.models.group import Group, group_categories, group_roles, user_groups
from openwan.models.job import Job, JobState
from openwan.models.legacy_id import LegacyId
from openwan.models.level import Level
from openwan.models.login_throttle import LoginThrottle
from openwan.models.permission import Permission
from openwan.models.refresh_token import RefreshToken
from openwan.models.rendition import Rendition
from openwan.models.role import Role, role_permissions, user_roles
from openwan.models.search_document import SearchDocument
from openwan.models.search_posting import SearchPosting
from openwan.models.upload import Upload
from openwan.models.user import User

__all__ = [
    "ApiToken",
    "Asset",
    "AssetGroup",
    "AssetStatus",
    "AssetType",
    "AuditEntry",
    "AuthSession",
    "Base",
    "CatalogField",
    "CatalogValue",
    "Category",
    "FieldKind",
    "Group",
    "Job",
    "JobState",
    "LegacyId",
    "Level",
    "LoginThrottle",
    "MediaState",
    "Permission",
    "RefreshToken",
    "Rendition",
    "Role",
    "SearchDocument",
    "SearchPosting",
    "Upload",
    "User",
    "group_categories",
    "group_roles",
    "role_permissions",
    "user_groups",
    "user_roles",
    "utcnow",
]
