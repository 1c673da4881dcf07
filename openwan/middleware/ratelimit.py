"""Per-client-IP rate limits (the seed's WAF rule in the application): fixed windows in the
shared counters (Redis when configured), a stricter one for sign-in, 429 with Retry-After."""

from __future__ import annotations

import json

from starlette.types import Send

from openwan.observability.metrics import RATE_LIMITED

# Probes from the load balancer and the orchestrator are never limited.
EXEMPT = frozenset({"/health", "/alive", "/ready"})
LOGIN_PATHS = frozenset({"/api/v1/auth/login"})
# A tus PATCH carrying at least this much is not counted as a request: a 50 GiB master in
# 8 MiB chunks is 6,400 PATCHes in a few minutes, which a request count meant for API calls
# would refuse mid-upload. Its cost is its bytes, bounded by the upload's declared length,
# and the route authenticates every one. Smaller PATCHes count like any request.
UPLOAD_PREFIX = "/api/v1/uploads/"
UNCOUNTED_PATCH_BYTES = 1024 * 1024
# How often each process sends its per-IP request counts to the shared counters.
SYNC_SECONDS = 0.1


class RateLimiter:
    def __init__(self, *, limit: int, window: int, login_limit: int, login_window: int,
                 counters=None) -> None:
        self.limit = limit
        self.window = window
        self.login_limit = login_limit
        self.login_window = login_window
        if counters is None:
            from openwan.cache import counters
        self.counters = counters

    def check(self, method: str, path: str, ip: str,
              body_bytes: int = 0) -> tuple[str, int, int, int] | None:
        """Counts this request; ``(scope, retry after, limit, window)`` when it is refused.
        ``body_bytes``: the declared Content-Length."""
        if path in EXEMPT:
            return None
        if (method == "PATCH" and body_bytes >= UNCOUNTED_PATCH_BYTES
                and path.startswith(UPLOAD_PREFIX)):
            return None
        if self.limit > 0:
            # Batched with Redis: a large limit, and a round trip per request costs too much.
            count, retry = self.counters.hit_with_retry(f"rl:{ip}", self.window,
                                                        sync_seconds=SYNC_SECONDS)
            if count > self.limit:
                return "requests", retry, self.limit, self.window
        if self.login_limit > 0 and method == "POST" and path in LOGIN_PATHS:
            count, retry = self.counters.hit_with_retry(f"rl:login:{ip}", self.login_window)
            if count > self.login_limit:
                return "login", retry, self.login_limit, self.login_window
        return None


async def refuse(send: Send, scope_name: str, retry: int, limit: int, window: int) -> None:
    RATE_LIMITED.labels(scope_name).inc()
    what = "sign-in attempts" if scope_name == "login" else "requests"
    body = json.dumps({"error": {
        "code": "rate_limited",
        "message": f"too many {what} from your address ({limit} per {window} s); "
                   f"retry in {retry} s",
        "retry_after": retry}}).encode()
    await send({"type": "http.response.start", "status": 429,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"retry-after", str(retry).encode())]})
    await send({"type": "http.response.body", "body": body})
