"""The HTTP protocol the server runs: request bodies reach the app whole and in order, and
as the very bytes objects the parser produced (no copies on the way)."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import time
from contextlib import contextmanager

import pytest
import uvicorn

from openwan.kit.http import _Pieces, protocol
from tests.conftest import free_port

pytestmark = pytest.mark.skipif(protocol() == "auto", reason="httptools is not installed")


class Recording:
    """An app that reads each request's body and answers its length, sha256 and how many
    messages it came in; it keeps the body objects it was handed."""

    def __init__(self) -> None:
        self.received: list[bytes] = []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        sha, size, messages = hashlib.sha256(), 0, 0
        while True:
            message = await receive()
            body = message.get("body", b"")
            self.received.append(body)
            sha.update(body)
            size += len(body)
            messages += 1
            if not message.get("more_body"):
                break
        answer = json.dumps({"size": size, "sha256": sha.hexdigest(),
                             "messages": messages}).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})


@contextmanager
def serving(app, http):
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, http=http,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


def _responses(sock: socket.socket, count: int) -> list[dict]:
    data, found = b"", []
    while len(found) < count:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        data += chunk
        while b"\r\n\r\n" in data:
            head, _, rest = data.partition(b"\r\n\r\n")
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length")))
            if len(rest) < length:
                break
            found.append(json.loads(rest[:length]))
            data = rest[length:]
    return found


def _post(length_header: bytes) -> bytes:
    return b"POST /x HTTP/1.1\r\nHost: t\r\n" + length_header + b"\r\n"


def test_bodies_arrive_whole_in_order_and_uncopied():
    app = Recording()
    base = protocol()
    parsed: list[bytes] = []

    class Watched(base):  # the bytes objects the parser hands over (kept: ids stay unique)
        def on_body(self, body: bytes) -> None:
            parsed.append(body)
            super().on_body(body)

    body = os.urandom(5 * 1024 * 1024 + 17)
    with serving(app, Watched) as port, socket.create_connection(("127.0.0.1", port)) as sock:
        # Sent in uneven pieces with pauses, so the body comes in many reads and messages.
        sock.sendall(_post(b"Content-Length: %d\r\n" % len(body)))
        view, sent = memoryview(body), 0
        for size in (1, 1000, 70_000, 300_000, 2_000_000):
            sock.sendall(view[sent:sent + size])
            sent += size
            time.sleep(0.01)
        sock.sendall(view[sent:])
        [answer] = _responses(sock, 1)
        assert answer["size"] == len(body)
        assert answer["sha256"] == hashlib.sha256(body).hexdigest()
        assert answer["messages"] > 1
        # Chunked, then two requests pipelined in one write: nothing mixes.
        chunked = os.urandom(300_000)
        sock.sendall(_post(b"Transfer-Encoding: chunked\r\n")
                     + b"%x\r\n" % 100_000 + chunked[:100_000] + b"\r\n"
                     + b"%x\r\n" % 200_000 + chunked[100_000:] + b"\r\n0\r\n\r\n")
        [answer] = _responses(sock, 1)
        assert (answer["size"], answer["sha256"]) == (
            len(chunked), hashlib.sha256(chunked).hexdigest())
        first, second = os.urandom(40_000), b""
        sock.sendall(_post(b"Content-Length: %d\r\n" % len(first)) + first
                     + _post(b"Content-Length: 0\r\n"))
        answers = _responses(sock, 2)
        assert [(a["size"], a["sha256"]) for a in answers] == [
            (len(first), hashlib.sha256(first).hexdigest()),
            (0, hashlib.sha256(second).hexdigest())]
    # The app got the parser's own objects (uvicorn's own protocol hands over copies).
    assert {id(b) for b in app.received if b} & {id(b) for b in parsed}


def test_pieces_join_only_when_several():
    pieces = _Pieces()
    assert len(pieces) == 0 and bytes(pieces) == b""
    one = os.urandom(1000)
    pieces += one
    assert bytes(pieces) is one and len(pieces) == 1000
    pieces += b"tail"
    assert bytes(pieces) == one + b"tail" and len(pieces) == 1004
