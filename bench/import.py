"""Legacy import speed: a generated 2010 OpenWan installation (rows and ``data<N>`` folders)
through ``openwan.legacy``, against ``cp -r`` (and ``cp -r`` + ``sync``) of the same files.

The installation is generated first: a category tree, the video catalogue, users and groups,
and ``--rows`` file rows whose files (``--gb`` in all, split evenly; MPEG-TS by content, each
unique) sit under ``data1``… with the MD5 the rows record. Then, in the same run, on the same
disk: ``cp -r`` of the folders, ``cp -r`` + ``sync``, and the import (every original read,
MD5-verified, SHA-256 hashed, written and fsynced under its storage key, rows, search index,
media jobs). Rates: rows/s and MB/s of the import, its speed as a ratio of ``cp`` + ``sync``.
A second import of the same source must change nothing; its time is reported too.

Quick run (default): 5,000 rows, 0.5 GB. The issue's full size:
``python bench/import.py --rows 100000 --gb 10`` (about 25 GB free disk; some minutes).
The target is SQLite under a temporary data dir unless ``--database-url`` names another.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, report

sys.path.insert(0, str(ROOT))

MB = 1_000_000
WORDS = ("百家讲坛", "三国", "说曹操", "夜来香", "新闻联播", "纪录片", "长江", "故宫", "京剧",
         "体育", "奥运", "科教", "农业", "法律", "中华医药", "探索", "发现", "城市", "夜景")


def make_installation(root: Path, rows: int, total: int) -> dict[str, list[dict]]:
    """The files (``data<N>/<dir>/<md5>.<ext>``, 1,000 per ``data<N>``), then the rows."""
    size = max(1024, total // rows)
    filler = os.urandom(size + 4096)
    head = bytearray(188 * 3)
    for i in range(3):
        head[i * 188] = 0x47  # MPEG-TS sync bytes: a video by content
    files = []
    started = time.perf_counter()
    for n in range(1, rows + 1):
        folder = hashlib.md5(f"{n}-folder".encode(), usedforsecurity=False).hexdigest()
        data = bytes(head) + n.to_bytes(8, "big") + filler[n % 4096:n % 4096 + size - 572]
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        ext = "TS" if n % 7 == 0 else "ts"
        target = root / f"data{1 + n // 1000}" / folder / f"{md5}.{ext}"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        files.append({
            "id": n, "category_id": 2 + n % 40, "category_name": "旧名", "type": 1,
            "title": f"{WORDS[n % len(WORDS)]} {WORDS[(n * 7) % len(WORDS)]} 第{n}集",
            "name": md5, "ext": ext, "size": len(data),
            "path": f"data{1 + n // 1000}\\{folder}\\", "status": n % 5, "level": 1 + n % 5,
            "groups": "all" if n % 3 else ",1,2,", "is_download": n % 2,
            "catalog_info": json.dumps({"题名": {"正题名": WORDS[n % len(WORDS)],
                                                "副题名": f"第{n}集"},
                                        "主题": {"主题词": WORDS[(n * 3) % len(WORDS)]}},
                                       ensure_ascii=False),
            "upload_username": f"user{n % 20}", "upload_at": 1256109496 + n,
            "catalog_username": f"user{n % 20}", "catalog_at": 1266109496 + n,
            "putout_username": "admin", "putout_at": 1276109496 + n})
        if n % 10_000 == 0:
            print(f"  generated {n} files ({time.perf_counter() - started:.0f} s)", flush=True)
    categories = [{"id": 1, "parent_id": -1, "path": "-1,", "name": "资源分类", "weight": 0,
                   "enabled": 1}]
    for n in range(2, 42):
        parent = 1 if n < 12 else 2 + n % 10
        categories.append({"id": n, "parent_id": parent, "path": "", "weight": n % 5,
                           "name": f"{WORDS[n % len(WORDS)]}{n}", "enabled": 1})
    catalog = [{"id": 1, "parent_id": -1, "name": "编目信息"},
               {"id": 2, "parent_id": 1, "name": "视频编目"},
               {"id": 10, "parent_id": 2, "name": "题名"}, {"id": 11, "parent_id": 2,
                                                          "name": "主题"},
               {"id": 20, "parent_id": 10, "name": "正题名"},
               {"id": 21, "parent_id": 10, "name": "副题名"},
               {"id": 22, "parent_id": 11, "name": "主题词"}]
    md5_crypt = "$1$EG1.745.$z6/JA8BuucealnqG4Dmip."
    users = [{"id": 100 + n, "group_id": 1 + n % 2, "level_id": 1 + n % 5,
              "username": f"user{n}", "password": md5_crypt, "nickname": f"用户{n}",
              "enabled": 1, "register_at": 1256952707, "login_count": n,
              "login_at": 1269056178, "login_ip": "192.168.1.13"} for n in range(20)]
    return {
        "ow_levels": [{"id": n, "name": f"L{n}", "weight": n, "enabled": 1}
                      for n in range(1, 6)],
        "ow_category": categories, "ow_catalog": catalog,
        "ow_permissions": [{"id": 1, "namespace": "admin", "controller": "FileUpload",
                            "action": "Index", "aliasname": "素材上载"}],
        "ow_roles": [{"id": 1, "name": "UPLOADER", "description": "", "enabled": 1}],
        "ow_roles_has_permissions": [{"role_id": 1, "permission_id": 1}],
        "ow_groups": [{"id": 1, "name": "编辑部", "enabled": 1},
                      {"id": 2, "name": "新闻部", "enabled": 1}],
        "ow_groups_has_roles": [{"group_id": 1, "role_id": 1}],
        "ow_groups_has_category": [{"group_id": 1, "category_id": 1},
                                   {"group_id": 2, "category_id": 3}],
        "ow_users": users, "ow_files": files,
    }


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=5000, help="legacy file rows")
    parser.add_argument("--gb", type=float, default=0.5, help="total size of their files")
    parser.add_argument("--batch", type=int, default=500, help="files per transaction")
    parser.add_argument("--workers", type=int, default=4, help="copying threads")
    parser.add_argument("--database-url", default=None, help="import target (SQLite default)")
    args = parser.parse_args()

    from openwan import migrate
    from openwan.config import Settings, set_settings
    from openwan.legacy.importer import Importer

    work = Path(tempfile.mkdtemp(prefix="openwan-bench-import-", dir=ROOT / "var"
                                 if (ROOT / "var").is_dir() else None))
    try:
        source = work / "legacy"
        print(f"generating {args.rows} rows and {args.gb} GB of files in {work}", flush=True)
        tables = make_installation(source, args.rows, int(args.gb * 1e9))
        total = sum(r["size"] for r in tables["ow_files"])
        subprocess.run(["sync"], check=True)

        cp = timed(["cp", "-r", str(source), str(work / "cp")])
        shutil.rmtree(work / "cp")
        subprocess.run(["sync"], check=True)
        cp_sync = timed(["sh", "-c", f"cp -r '{source}' '{work / 'cp'}' && sync"])
        shutil.rmtree(work / "cp")
        print(f"cp -r: {cp:.2f} s ({total / MB / cp:.0f} MB/s); cp -r + sync: {cp_sync:.2f} s "
              f"({total / MB / cp_sync:.0f} MB/s)", flush=True)

        env = {"OPENWAN_DATA_DIR": str(work / "var"), "OPENWAN_ENV": "test",
               "JWT_SECRET": "bench-secret-" + "x" * 40, "OPENWAN_LOG_LEVEL": "WARNING"}
        if args.database_url:
            env["OPENWAN_DATABASE_URL"] = args.database_url
        os.environ.update(env)
        settings = Settings()
        set_settings(settings)
        migrate.upgrade(settings.database_url)

        def progress(stage: str, done: int) -> None:
            if done % (args.batch * 20) == 0:
                print(f"  {done} files imported", flush=True)

        start = time.perf_counter()
        first = Importer(settings, tables, files=source, batch=args.batch,
                         workers=args.workers, progress=progress).run()
        seconds = time.perf_counter() - start
        print(f"import: {seconds:.2f} s, {args.rows / seconds:.0f} rows/s, "
              f"{total / MB / seconds:.0f} MB/s; files {dict(first.files)}", flush=True)
        start = time.perf_counter()
        second = Importer(settings, tables, files=source, batch=args.batch).run()
        again = time.perf_counter() - start
        print(f"second import (changes nothing): {again:.2f} s, {second.changed} rows written",
              flush=True)
        report({
            "rows": args.rows, "bytes": total, "database": settings.database_url.split(":")[0],
            "import_seconds": round(seconds, 3),
            "rows_per_second": round(args.rows / seconds, 1),
            "mb_per_second": round(total / MB / seconds, 1),
            "cp_seconds": round(cp, 3), "cp_sync_seconds": round(cp_sync, 3),
            "cp_mb_per_second": round(total / MB / cp, 1),
            "cp_sync_mb_per_second": round(total / MB / cp_sync, 1),
            "ratio_to_cp": round(cp / seconds, 3),
            "ratio_to_cp_sync": round(cp_sync / seconds, 3),
            "files_ok": first.files.get("ok", 0), "second_run_seconds": round(again, 3),
            "second_run_changed": second.changed,
            "baseline": "cp -r and cp -r + sync of the same data<N> folders, same disk"})
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
