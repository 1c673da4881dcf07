"""Uvicorn's HTTP protocol (httptools), handing request bodies to the app as they arrive.

Uvicorn gathers the body bytes it reads into a ``bytearray`` (``+=``) and turns that into
``bytes`` for each ``http.request`` message: two copies of every byte on the event loop,
about 0.1 s of CPU per GiB uploaded (``bench/ingest``: 5-6 % of an upload's time on a 2-core
machine). Here the bytes objects the parser hands over are kept as they are and passed on
whole; only where several arrived before the app asked are they joined (one copy).

It changes nothing else. Uvicorn's flow control still pauses reading past its high-water
mark (it asks the length of what is waiting), and ``receive`` still asks ``bytes()`` of it;
:class:`_Pieces` answers both. The class relies on the cycle's ``body`` attribute, so the
tests run every live-server test through it and check bodies byte for byte
(``tests/kit/test_http.py``); :func:`protocol` falls back to uvicorn's own choice where
httptools is missing.
"""

from __future__ import annotations

from typing import Any


class _Pieces:
    """Body bytes waiting for the app: ``+=`` keeps a reference, ``bytes()`` gives the one
    piece itself or joins several."""

    __slots__ = ("parts", "size")

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def __iadd__(self, data: bytes) -> _Pieces:
        self.parts.append(data)
        self.size += len(data)
        return self

    def __len__(self) -> int:
        return self.size

    def __bytes__(self) -> bytes:
        if len(self.parts) == 1:
            return self.parts[0]
        return b"".join(self.parts)


def protocol() -> Any:
    """The ``http`` setting for uvicorn: the pass-through protocol, or ``"auto"``."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # no httptools: uvicorn's h11 protocol
        return "auto"

    class PassThroughProtocol(HttpToolsProtocol):
        def on_body(self, body: bytes) -> None:
            cycle = self.cycle
            # A new request, or the app took what was waiting (uvicorn resets it then).
            if type(cycle.body) is bytearray and not cycle.body:
                cycle.body = _Pieces()
            super().on_body(body)

    return PassThroughProtocol
