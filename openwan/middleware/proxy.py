"""Who the client is behind the ALB (and CloudFront): ``X-Forwarded-For`` and ``-Proto``.

Each proxy appends the address it received the request from. With ``hops`` trusted proxies in
front of us, the client is the ``hops``-th address from the right; anything further left was
written by the client and is not believed. The scope's ``client`` and ``scheme`` are rewritten
once here, so rate limits, logs, ``request.client`` and redirects all agree.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


def forwarded_client(xff: str | None, hops: int, peer: str | None) -> str | None:
    if hops <= 0 or not xff:
        return peer
    addresses = [a.strip() for a in xff.split(",") if a.strip()]
    if not addresses:
        return peer
    # Fewer entries than proxies: every entry was written by a trusted proxy; take the first.
    return addresses[-hops] if len(addresses) >= hops else addresses[0]


class ProxyHeadersMiddleware:
    def __init__(self, app: ASGIApp, hops: int) -> None:
        self.app = app
        self.hops = hops

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.hops > 0 and scope["type"] in ("http", "websocket"):
            xff = proto = None
            for name, value in scope["headers"]:
                if name == b"x-forwarded-for":
                    # Several headers are one list, in order.
                    text = value.decode("latin-1")
                    xff = text if xff is None else f"{xff},{text}"
                elif name == b"x-forwarded-proto":
                    proto = value.decode("latin-1")
            if xff:
                peer = scope.get("client")
                client = forwarded_client(xff, self.hops, peer[0] if peer else None)
                if client:
                    scope["client"] = (client, 0)
            if proto:
                # The nearest proxy's view: the last value.
                scheme = proto.split(",")[-1].strip().lower()
                if scheme in ("http", "https"):
                    scope["scheme"] = scheme if scope["type"] == "http" else (
                        "wss" if scheme == "https" else "ws")
        await self.app(scope, receive, send)
