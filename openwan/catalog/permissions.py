"""Who may administer the catalogue: the access model's ``admin.categories`` and
``admin.catalog`` permissions (administrators hold every permission)."""

from __future__ import annotations

from openwan.access import rules
from openwan.kit.errors import Forbidden
from openwan.models import User


def require_admin(user: User, permission: str) -> None:
    """Raise 403 unless ``user`` holds ``permission``."""
    if not rules.has_permission(user, permission):
        raise Forbidden(f"this needs the {permission} permission", code="permission_denied")
