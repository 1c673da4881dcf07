"""Who may administer the catalogue: one small function, swapped for the access model's
``admin.categories`` / ``admin.catalog`` permissions when they land."""

from __future__ import annotations

from openwan.kit.errors import Forbidden
from openwan.models import User


def require_admin(user: User, permission: str) -> None:
    """Raise 403 unless ``user`` holds ``permission`` (today: administrators hold all)."""
    if not user.is_admin:
        raise Forbidden(f"this needs the {permission} permission")
