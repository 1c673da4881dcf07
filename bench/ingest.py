"""Ingest speed: a 1 GiB upload to a running `openwan up`, against a durable `cp` + `sync`.

Prints the time of `cp` + `sync` of the same file on the same disk (the physical limit: an
upload is accepted only once durable), the same two clients against a bare uvicorn +
Starlette app that discards the body (what the server stack itself receives), the multipart
(curl -F) and tus (8 MiB chunks) upload times until the asset exists, each as a ratio of speeds
to `cp` + `sync`, and the server's peak RSS growth. Every contender runs once per round
(``--rounds``, default 3), interleaved, and the medians are reported: this machine's speed
drifts from one minute to the next.
Targets: tus >= 0.5x, multipart >= 0.4x, RSS growth <= 64 MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from _common import ROOT, PeakRSS, Server, report

MiB = 1024 * 1024


def make_file(path: Path, size: int) -> None:
    # An MPEG-TS sync pattern makes it a "video" by content; the rest is incompressible.
    head = bytearray(os.urandom(188 * 3))
    for i in range(3):
        head[i * 188] = 0x47
    with open(path, "wb") as f:
        f.write(head)
        remaining = size - len(head)
        block = os.urandom(8 * MiB)
        while remaining > 0:
            f.write(block[: min(len(block), remaining)])
            remaining -= len(block)


def drop_cache(path: Path) -> None:
    # Keep the source file's pages cached for every contender alike: read it once.
    with open(path, "rb") as f:
        while f.read(16 * MiB):
            pass


def cp_sync(source: Path, target_dir: Path) -> float:
    target = target_dir / "copy.bin"
    start = time.perf_counter()
    subprocess.run(["cp", str(source), str(target)], check=True)
    subprocess.run(["sync", str(target)], check=True)
    elapsed = time.perf_counter() - start
    target.unlink()
    return elapsed


def wait_for_processing(server: Server, token: str, asset_id: int, limit: float = 300) -> None:
    """Let the embedded worker finish with the last upload so it does not share the CPU
    with the next one (each upload is measured on a quiet server)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        state = httpx.get(f"{server.url}/api/v1/assets/{asset_id}",
                          headers={"Authorization": f"Bearer {token}"}).json()["media_state"]
        if state in ("ready", "failed"):
            return
        time.sleep(0.5)


def upload_curl(server: Server, token: str, path: Path) -> tuple[float, int]:
    start = time.perf_counter()
    result = subprocess.run(
        ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "-H", f"Authorization: Bearer {token}",
         "-F", f"file=@{path};filename=bench.ts",
         f"{server.url}/api/v1/assets?keep_duplicate=true"],
        check=True, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    body, status = result.stdout.rsplit("\n", 1)
    if int(status) != 201:
        raise RuntimeError(f"multipart upload failed: {result.stdout}")
    return elapsed, json.loads(body)["id"]


def _read_response(sock: socket.socket, buffer: bytearray) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response from a keep-alive connection: status, headers, body."""
    while b"\r\n\r\n" not in buffer:
        data = sock.recv(65536)
        if not data:
            raise RuntimeError("the server closed the connection")
        buffer += data
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip()
               for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        data = sock.recv(65536)
        if not data:
            raise RuntimeError("the server closed the connection")
        rest += data
    buffer[:] = rest[length:]
    return status, headers, rest[:length]


def upload_tus(server: Server, token: str, path: Path, chunk: int) -> tuple[float, int]:
    """A tus 1.0.0 client on one keep-alive connection: create, then PATCH chunk by chunk,
    each chunk sent from the file with ``sendfile`` (as lean as a client gets, so that the
    figure is the server's: the client shares the machine's cores with it).
    """
    import base64

    size = path.stat().st_size
    auth = {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}
    metadata = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}"
                        for k, v in {"filename": "bench-tus.ts", "keep_duplicate": "true"}.items())
    start = time.perf_counter()
    created = httpx.post(f"{server.url}/api/v1/uploads", headers={
        **auth, "Upload-Length": str(size), "Upload-Metadata": metadata})
    created.raise_for_status()
    location = created.headers["location"]
    buffer = bytearray()
    with socket.create_connection(("127.0.0.1", server.port)) as sock, open(path, "rb") as f:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        offset = 0
        while offset < size:
            n = min(chunk, size - offset)
            sock.sendall((f"PATCH {location} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          f"Authorization: Bearer {token}\r\nTus-Resumable: 1.0.0\r\n"
                          "Content-Type: application/offset+octet-stream\r\n"
                          f"Upload-Offset: {offset}\r\nContent-Length: {n}\r\n\r\n").encode())
            sent = 0
            while sent < n:
                sent += os.sendfile(sock.fileno(), f.fileno(), offset + sent, n - sent)
            status, headers, body = _read_response(sock, buffer)
            if status != 204:
                raise RuntimeError(f"PATCH at {offset}: {status} {body[:300]!r}")
            offset = int(headers["upload-offset"])
        elapsed = time.perf_counter() - start
    status = httpx.get(f"{server.url}{location}", headers=auth).json()
    if not status.get("asset_id"):
        raise RuntimeError(f"tus upload did not create an asset: {status}")
    return elapsed, status["asset_id"]


def bare_app():
    """The same uvicorn with an app that receives bodies and throws them away: the ceiling
    of what the server stack itself receives, for both clients (tus answered just enough)."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    sizes: dict[str, int] = {}

    async def discard(request) -> int:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
        return received

    async def multipart(request):
        await discard(request)
        return JSONResponse({"id": 1}, status_code=201)

    async def create(request):
        sizes["u"] = int(request.headers["upload-length"])
        return Response(status_code=201, headers={"Location": "/api/v1/uploads/u"})

    async def patch(request):
        offset = int(request.headers["upload-offset"]) + await discard(request)
        return Response(status_code=204, headers={"Upload-Offset": str(offset)})

    async def status(request):
        return JSONResponse({"asset_id": 1})

    return Starlette(routes=[
        Route("/api/v1/assets", multipart, methods=["POST"]),
        Route("/api/v1/uploads", create, methods=["POST"]),
        Route("/api/v1/uploads/u", patch, methods=["PATCH"]),
        Route("/api/v1/uploads/u", status, methods=["GET"])])


def _run_bare(port: int) -> None:
    import uvicorn

    uvicorn.run(bare_app(), host="127.0.0.1", port=port, log_config=None, access_log=False,
                server_header=False)


class BareServer:
    def __init__(self) -> None:
        from _common import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> BareServer:
        import multiprocessing

        self.process = multiprocessing.Process(target=_run_bare, args=(self.port,))
        self.process.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        raise RuntimeError("bare server did not start")

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--chunk-mib", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of every contender, interleaved; medians are reported")
    args = parser.parse_args()
    size = args.size_mib * MiB
    chunk = args.chunk_mib * MiB
    work = Path(tempfile.mkdtemp(prefix="ingest-", dir=ROOT / "bench"))
    runs: dict[str, list[float]] = {k: [] for k in (
        "cp_sync", "bare_multipart", "bare_tus", "multipart", "tus")}
    growth = 0
    try:
        source = work / "source.ts"
        make_file(source, size)
        drop_cache(source)
        print(f"file: {args.size_mib} MiB at {source.parent.name}; {args.rounds} rounds")
        with BareServer() as bare, Server(work / "var") as server:
            token = server.token()
            for n in range(1, args.rounds + 1):
                # Each round measures every contender once, one after another, so that a
                # slow spell of the machine weighs on all of them alike.
                baseline = min(cp_sync(source, work) for _ in range(2))
                bare_multipart = upload_curl(bare, "-", source)[0]
                bare_tus = upload_tus(bare, "-", source, chunk)[0]
                with PeakRSS(server.process.pid) as rss_multipart:
                    multipart, asset_id = upload_curl(server, token, source)
                wait_for_processing(server, token, asset_id)
                with PeakRSS(server.process.pid) as rss_tus:
                    tus_time, asset_id = upload_tus(server, token, source, chunk)
                wait_for_processing(server, token, asset_id)
                growth = max(growth, rss_multipart.growth, rss_tus.growth)
                for key, value in (("cp_sync", baseline), ("bare_multipart", bare_multipart),
                                   ("bare_tus", bare_tus), ("multipart", multipart),
                                   ("tus", tus_time)):
                    runs[key].append(value)
                print(f"round {n}: cp+sync {baseline:.2f} s; receive only (bare uvicorn + "
                      f"Starlette, body discarded) multipart {bare_multipart:.2f} s, tus "
                      f"{bare_tus:.2f} s; OpenWan multipart (curl -F) {multipart:.2f} s = "
                      f"{baseline / multipart:.2f}x cp+sync, tus ({args.chunk_mib} MiB chunks) "
                      f"{tus_time:.2f} s = {baseline / tus_time:.2f}x", flush=True)
        ratio = {k: statistics.median(b / t for b, t in zip(runs["cp_sync"], runs[k],
                                                              strict=True))
                 for k in ("multipart", "tus")}
        of_bare = {k: statistics.median(b / t for b, t in zip(runs[f"bare_{k}"], runs[k],
                                                               strict=True))
                   for k in ("multipart", "tus")}
        median = {k: statistics.median(v) for k, v in runs.items()}
        print(f"median: cp + sync {median['cp_sync']:.2f} s ({size / median['cp_sync'] / MiB:.0f}"
              f" MiB/s); multipart {median['multipart']:.2f} s, {ratio['multipart']:.2f}x "
              f"cp+sync; tus {median['tus']:.2f} s, {ratio['tus']:.2f}x cp+sync; "
              f"RSS growth at most {growth / MiB:.1f} MiB")
        print(f"of the receive-only speed: multipart {of_bare['multipart']:.2f}x, "
              f"tus {of_bare['tus']:.2f}x")
        report({"benchmark": "ingest", "size_bytes": size, "baseline": "cp+sync",
                "rounds": args.rounds,
                "cp_sync_s": round(median["cp_sync"], 3),
                "multipart_s": round(median["multipart"], 3),
                "tus_s": round(median["tus"], 3),
                "multipart_ratio": round(ratio["multipart"], 3),
                "tus_ratio": round(ratio["tus"], 3),
                "receive_only_s": {"multipart": round(median["bare_multipart"], 3),
                                   "tus": round(median["bare_tus"], 3)},
                "of_receive_only": {k: round(v, 3) for k, v in of_bare.items()},
                "rss_growth_mib": round(growth / MiB, 1),
                "runs_s": {k: [round(x, 3) for x in v] for k, v in runs.items()},
                "targets": {"tus_ratio": 0.5, "multipart_ratio": 0.4, "rss_growth_mib": 64}})
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
