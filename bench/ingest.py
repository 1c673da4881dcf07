"""Ingest speed: a 1 GiB upload to a running `openwan up`, against a durable `cp` + `sync`.

Prints the time of `cp` + `sync` of the same file on the same disk (the physical limit: an
upload is accepted only once durable), the multipart (curl -F) and tus (8 MiB chunks) upload
times until the asset exists, each as a ratio of speeds to `cp` + `sync`, and the server's peak
RSS growth. Targets: tus >= 0.5x, multipart >= 0.4x, RSS growth <= 64 MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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


def upload_tus(server: Server, token: str, path: Path, chunk: int) -> tuple[float, int]:
    """A tus 1.0.0 client on one keep-alive connection: create, then PATCH chunk by chunk.

    (tuspy, the Python tus client the tests use, opens a new connection for every chunk and
    spends more of the shared two cores than the server does.)
    """
    import base64

    size = path.stat().st_size
    auth = {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}
    metadata = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}"
                        for k, v in {"filename": "bench-tus.ts", "keep_duplicate": "true"}.items())
    start = time.perf_counter()
    with httpx.Client(base_url=server.url, timeout=120) as client, open(path, "rb") as f:
        created = client.post("/api/v1/uploads", headers={
            **auth, "Upload-Length": str(size), "Upload-Metadata": metadata})
        created.raise_for_status()
        location = created.headers["location"]
        offset = 0
        while offset < size:
            body = f.read(chunk)
            response = client.patch(location, content=body, headers={
                **auth, "Content-Type": "application/offset+octet-stream",
                "Upload-Offset": str(offset)})
            if response.status_code != 204:
                raise RuntimeError(f"PATCH at {offset}: {response.status_code} {response.text}")
            offset = int(response.headers["upload-offset"])
        elapsed = time.perf_counter() - start
        status = client.get(location, headers=auth).json()
    if not status.get("asset_id"):
        raise RuntimeError(f"tus upload did not create an asset: {status}")
    return elapsed, status["asset_id"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--chunk-mib", type=int, default=8)
    args = parser.parse_args()
    size = args.size_mib * MiB
    work = Path(tempfile.mkdtemp(prefix="ingest-", dir=ROOT / "bench"))
    try:
        source = work / "source.ts"
        make_file(source, size)
        drop_cache(source)
        print(f"file: {args.size_mib} MiB at {source.parent.name}")
        baseline = min(cp_sync(source, work) for _ in range(2))
        print(f"cp + sync: {baseline:.2f} s ({size / baseline / MiB:.0f} MiB/s)")
        with Server(work / "var") as server:
            token = server.token()
            with PeakRSS(server.process.pid) as rss_multipart:
                multipart, asset_id = upload_curl(server, token, source)
            print(f"multipart (curl -F): {multipart:.2f} s, {baseline / multipart:.2f}x cp+sync, "
                  f"RSS +{rss_multipart.growth / MiB:.1f} MiB")
            wait_for_processing(server, token, asset_id)
            with PeakRSS(server.process.pid) as rss_tus:
                tus_time, asset_id = upload_tus(server, token, source, args.chunk_mib * MiB)
            print(f"tus ({args.chunk_mib} MiB chunks): {tus_time:.2f} s, "
                  f"{baseline / tus_time:.2f}x cp+sync, RSS +{rss_tus.growth / MiB:.1f} MiB")
        growth = max(rss_multipart.growth, rss_tus.growth)
        report({"benchmark": "ingest", "size_bytes": size, "baseline": "cp+sync",
                "cp_sync_s": round(baseline, 3), "multipart_s": round(multipart, 3),
                "tus_s": round(tus_time, 3),
                "multipart_ratio": round(baseline / multipart, 3),
                "tus_ratio": round(baseline / tus_time, 3),
                "rss_growth_mib": round(growth / MiB, 1),
                "targets": {"tus_ratio": 0.5, "multipart_ratio": 0.4, "rss_growth_mib": 64}})
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
