"""Who the client is behind the ALB (and CloudFront): ``X-Forwarded-For`` and ``-Proto``.

Each proxy appends the address it received the request from. With ``hops`` trusted proxies in
front of us, the client is the ``hops``-th address from the right; anything further left was
written by the client and is not believed. The scope's ``client`` and ``scheme`` are rewritten
once at the edge, so rate limits, logs, ``request.client`` and redirects all agree.

Nothing is trusted by default (``OPENWAN_TRUSTED_PROXY_HOPS`` 0): without a proxy in front,
``X-Forwarded-For`` is whatever the client wrote. On AWS the load balancer can also be called
directly, past CloudFront and its WAF; with ``OPENWAN_ORIGIN_SECRET`` set, forwarded headers
count only on requests whose ``X-OpenWan-Origin`` header holds that secret (CloudFront adds
it). Other requests are served as coming from their TCP peer, not refused: the load balancer's
own health checks carry no such header, and refusing direct calls is the load balancer
listener's and security group's job.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from starlette.types import Scope


def forwarded_client(xff: str | None, hops: int, peer: str | None) -> str | None:
    if hops <= 0 or not xff:
        return peer
    addresses = [a.strip() for a in xff.split(",") if a.strip()]
    if not addresses:
        return peer
    # Fewer entries than proxies: every entry was written by a trusted proxy; take the first.
    return addresses[-hops] if len(addresses) >= hops else addresses[0]


def forwarded_headers(headers: Iterable[tuple[bytes, bytes]]) -> tuple[str | None, str | None]:
    """``X-Forwarded-For`` (several headers are one list, in order) and ``X-Forwarded-Proto``."""
    xff = proto = None
    for name, value in headers:
        if name == b"x-forwarded-for":
            text = value.decode("latin-1")
            xff = text if xff is None else f"{xff},{text}"
        elif name == b"x-forwarded-proto":
            proto = value.decode("latin-1")
    return xff, proto


def apply(scope: Scope, xff: str | None, proto: str | None, hops: int) -> None:
    """Rewrite the scope's ``client`` and ``scheme`` from the forwarded headers."""
    if hops <= 0:
        return
    if xff:
        peer = scope.get("client")
        client = forwarded_client(xff, hops, peer[0] if peer else None)
        if client:
            scope["client"] = (client, 0)
    if proto:
        # The nearest proxy's view: the last value.
        scheme = proto.split(",")[-1].strip().lower()
        if scheme in ("http", "https"):
            scope["scheme"] = scheme if scope["type"] == "http" else (
                "wss" if scheme == "https" else "ws")


ORIGIN_HEADER = b"x-openwan-origin"


def origin_trusted(secret: bytes | None, presented: bytes | None) -> bool:
    """Whether forwarded headers may be believed: no secret configured, or the request
    presents it (compared in constant time)."""
    if secret is None:
        return True
    return presented is not None and hmac.compare_digest(presented, secret)
