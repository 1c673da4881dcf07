"""HTTP routes of accounts and access control."""

from openwan.access.endpoints.audit import router as audit_router
from openwan.access.endpoints.auth import router
from openwan.access.endpoints.me import router as me_router
from openwan.access.endpoints.rights import (
    groups_router,
    levels_router,
    permissions_router,
    roles_router,
)
from openwan.access.endpoints.users import router as users_router

routers = [router, me_router, users_router, groups_router, roles_router, permissions_router,
           levels_router, audit_router]

__all__ = ["router", "routers"]
