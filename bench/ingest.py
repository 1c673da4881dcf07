"""Ingest speed: a 1 GiB upload to a running `openwan up`, against a durable `cp` + `sync`.

Prints the time of `cp` + `sync` of the same file on the same disk (the physical limit: an
upload is accepted only once durable), the multipart (curl -F) and tus (8 MiB chunks) upload
times until the asset exists, each as a ratio of speeds to `cp` + `sync`, and the server's peak
RSS growth. Targets: tus >= 0.5x, multipart >= 0.4x, RSS growth <= 64 MiB.
"""

from __future__ import annotations

import argparse
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


def upload_curl(server: Server, token: str, path: Path) -> tuple[float, int]:
    start = time.perf_counter()
    result = subprocess.run(
        ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "-H", f"Authorization: Bearer {token}",
         "-F", f"file=@{path};filename=bench.ts",
         f"{server.url}/api/v1/assets?keep_duplicate=true"],
        check=True, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    status = int(result.stdout.rsplit("\n", 1)[1])
    if status != 201:
        raise RuntimeError(f"multipart upload failed: {result.stdout}")
    return elapsed, status


def upload_tus(server: Server, token: str, path: Path, chunk: int) -> float:
    from tusclient import client as tus

    start = time.perf_counter()
    uploader = tus.TusClient(f"{server.url}/api/v1/uploads",
                             headers={"Authorization": f"Bearer {token}"}).uploader(
        str(path), chunk_size=chunk, metadata={"filename": "bench-tus.ts",
                                               "keep_duplicate": "true"})
    uploader.upload()
    elapsed = time.perf_counter() - start
    status = httpx.get(uploader.url, headers={"Authorization": f"Bearer {token}"}).json()
    if not status.get("asset_id"):
        raise RuntimeError(f"tus upload did not create an asset: {status}")
    return elapsed


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
                multipart, _ = upload_curl(server, token, source)
            print(f"multipart (curl -F): {multipart:.2f} s, {baseline / multipart:.2f}x cp+sync, "
                  f"RSS +{rss_multipart.growth / MiB:.1f} MiB")
            with PeakRSS(server.process.pid) as rss_tus:
                tus_time = upload_tus(server, token, source, args.chunk_mib * MiB)
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
