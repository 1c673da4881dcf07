"""The named capabilities the code checks, and the seeded roles (see migration 0002)."""

from __future__ import annotations

ASSET_UPLOAD = "asset.upload"
ASSET_CATALOG = "asset.catalog"
ASSET_REVIEW = "asset.review"
ASSET_DOWNLOAD = "asset.download"
ASSET_DELETE = "asset.delete"
ADMIN_USERS = "admin.users"
ADMIN_GROUPS = "admin.groups"
ADMIN_ROLES = "admin.roles"
ADMIN_LEVELS = "admin.levels"
ADMIN_CATEGORIES = "admin.categories"
ADMIN_CATALOG = "admin.catalog"
AUDIT_READ = "audit.read"

BUILTIN = (ASSET_UPLOAD, ASSET_CATALOG, ASSET_REVIEW, ASSET_DOWNLOAD, ASSET_DELETE, ADMIN_USERS,
           ADMIN_GROUPS, ADMIN_ROLES, ADMIN_LEVELS, ADMIN_CATEGORIES, ADMIN_CATALOG, AUDIT_READ)

# Holding this role (directly or through a group) makes an account an administrator.
ADMIN_ROLE = "ADMIN"
# Seeded group holding ADMIN over all categories; administrators created by the CLI join it.
ADMIN_GROUP = "administrators"
