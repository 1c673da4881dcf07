"""What the current request is, for log lines written anywhere while it runs.

One mutable object per request in a context variable: the request middleware creates it,
dependencies add to it (the user), and because it is shared by reference, values set inside
the threadpool (sync endpoints and dependencies) are seen by the middleware afterwards.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class RequestInfo:
    request_id: str
    method: str = ""
    path: str = ""
    route: str | None = None
    client_ip: str | None = None
    trace_id: str | None = None
    user_id: int | None = None
    # The ASGI scope's "state" dict: ``request.state.user_id`` written by deps lands here.
    state: dict[str, Any] = field(default_factory=dict)

    def current_user_id(self) -> int | None:
        return self.user_id if self.user_id is not None else self.state.get("user_id")


current_request: ContextVar[RequestInfo | None] = ContextVar("openwan_request", default=None)


def set_user(user_id: int | None) -> None:
    """Record the authenticated caller for log lines (no-op outside a request)."""
    info = current_request.get()
    if info is not None:
        info.user_id = user_id
