"""How much the access rule costs a listing: 50 assets a page, 100,000 assets, a viewer in 20
groups, with and without the rights filter, same data, same run.

    python bench/access.py [--backend sqlite|mariadb|postgres] [--assets 100000] [--rounds 150]

The viewer's listing runs ``assets.service.list_visible`` exactly as the API does (total +
page). The caller's groups, roles and categories are resolved once, as the API keeps them in
the cache between requests (``--resolve-each-time``: resolved again for every page, as before
the cache).
The baseline is the same call for an administrator, whose filter is empty. Prints figures as
it goes; the last line is one JSON object. Talks only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, insert, select, text  # noqa: E402

from openwan import migrate  # noqa: E402
from openwan.access import rules  # noqa: E402
from openwan.assets.service import list_visible  # noqa: E402
from openwan.db import make_engine  # noqa: E402
from openwan.models import (  # noqa: E402
    Asset,
    AssetGroup,
    Category,
    Group,
    Role,
    User,
    group_categories,
    group_roles,
    user_groups,
)

SERVERS = {"mariadb": "mysql+pymysql://root@127.0.0.1:3306/",
           "postgres": "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"}
STATUSES = ["published"] * 16 + ["new", "pending", "rejected", "deleted"]
TARGET_RATIO = 1.20


def database(backend: str, workdir: Path) -> tuple[str, callable]:
    if backend == "sqlite":
        return f"sqlite:///{workdir / 'bench.db'}", lambda: None
    name = f"openwan_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(SERVERS[backend], isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if backend == "mariadb":
            conn.execute(text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 "
                              "COLLATE utf8mb4_unicode_ci"))
            url = SERVERS[backend] + f"{name}?charset=utf8mb4"
        else:
            conn.execute(text(f"CREATE DATABASE {name}"))
            url = SERVERS[backend].rsplit("/", 1)[0] + f"/{name}"

    def drop() -> None:
        with admin.connect() as conn:
            suffix = " WITH (FORCE)" if backend == "postgres" else ""
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}{suffix}"))
        admin.dispose()

    return url, drop


def populate(engine, n_assets: int, rng: random.Random) -> dict:
    """Categories, groups, a viewer in 20 of them, an administrator, and the assets (Core)."""
    started = time.perf_counter()
    with engine.begin() as conn:
        roles = dict(conn.execute(select(Role.name, Role.id)).all())
        now = datetime.now(UTC)
        # 20 top categories with 9 children each: 200 categories.
        categories = []
        for top in range(20):
            top_id = conn.execute(insert(Category).values(
                name=f"栏目 {top}", path="/", weight=0, enabled=True)).inserted_primary_key[0]
            conn.execute(Category.__table__.update().where(Category.id == top_id)
                         .values(path=f"/{top_id}/"))
            categories.append(top_id)
            for child in range(9):
                cid = conn.execute(insert(Category).values(
                    name=f"栏目 {top}.{child}", parent_id=top_id, path="/", weight=0,
                    enabled=True)).inserted_primary_key[0]
                conn.execute(Category.__table__.update().where(Category.id == cid)
                             .values(path=f"/{top_id}/{cid}/"))
                categories.append(cid)
        group_ids = []
        for g in range(100):
            gid = conn.execute(insert(Group).values(
                name=f"group {g}", description="", all_categories=False, quota_bytes=None,
                created_at=now, updated_at=now)).inserted_primary_key[0]
            group_ids.append(gid)
        conn.execute(insert(group_roles), [{"group_id": gid, "role_id": roles["NORMAL"]}
                                           for gid in group_ids])
        viewer_groups = rng.sample(group_ids, 20)
        # The viewer's 20 groups bind 5 top categories (with their subtrees) between them.
        tops = rng.sample([c for c in categories if categories.index(c) % 10 == 0], 5)
        conn.execute(insert(group_categories), [
            {"group_id": gid, "category_id": tops[i % len(tops)]}
            for i, gid in enumerate(viewer_groups)])
        users = {}
        for name, is_admin in (("viewer", False), ("boss", True)):
            users[name] = conn.execute(insert(User).values(
                username=name, display_name=name, password_hash="x", is_admin=is_admin,
                level=3 if not is_admin else 5, enabled=True, locked=False, login_count=0,
                created_at=now, updated_at=now)).inserted_primary_key[0]
        conn.execute(insert(user_groups), [{"user_id": users["viewer"], "group_id": gid}
                                           for gid in viewer_groups])
        uploader = users["boss"]
        start = now - timedelta(days=365)
        batch, links = [], []
        next_id = 1
        for i in range(n_assets):
            allowed: object = "all"
            if rng.random() < 0.3:
                allowed = sorted(rng.sample(group_ids, rng.randint(1, 3)))
            batch.append({
                "id": next_id, "type": "video", "title": f"素材 {i}", "filename": f"{i}.mp4",
                "extension": "mp4", "size": rng.randint(10**6, 10**9),
                "sha256": uuid.uuid4().hex * 2, "mime_type": "video/mp4",
                "storage_key": f"original/video/{uuid.uuid4().hex}.mp4",
                "status": rng.choice(STATUSES), "media_state": "ready", "level": rng.randint(1, 5),
                "groups": allowed, "all_groups": allowed == "all",
                "download": rng.random() < 0.5, "category_id": rng.choice(categories),
                "metadata": {}, "technical": {}, "uploaded_by": uploader,
                "created_at": start + timedelta(seconds=i * 300),
                "updated_at": start + timedelta(seconds=i * 300)})
            if allowed != "all":
                # With the asset's status, level and category, as ``Asset`` keeps them.
                row = batch[-1]
                links.extend({"asset_id": next_id, "group_id": g, "status": row["status"],
                              "level": row["level"], "category_id": row["category_id"]}
                             for g in allowed)
            next_id += 1
            if len(batch) == 5000:
                conn.execute(insert(Asset.__table__), batch)
                batch = []
        if batch:
            conn.execute(insert(Asset.__table__), batch)
        for k in range(0, len(links), 10000):
            conn.execute(insert(AssetGroup.__table__), links[k:k + 10000])
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("SELECT setval('assets_id_seq', (SELECT max(id) FROM assets))"))
            conn.execute(text("ANALYZE"))
    elif engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE TABLE assets, asset_groups, user_groups, groups"))
    print(f"inserted {n_assets} assets, {len(links)} group links in "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    return users


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "mariadb", "postgres"], default="sqlite")
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=150)
    parser.add_argument("--pages", type=int, default=20, help="pages drawn from 1..N")
    parser.add_argument("--resolve-each-time", action="store_true",
                        help="resolve the caller's rights for every page (no rights cache)")
    args = parser.parse_args()
    rng = random.Random(20100101)
    with tempfile.TemporaryDirectory() as tmp:
        url, drop = database(args.backend, Path(tmp))
        try:
            migrate.upgrade(url)
            engine = make_engine(url)
            users = populate(engine, args.assets, rng)
            from sqlalchemy.orm import Session

            session = Session(engine)
            viewer = session.get(User, users["viewer"])
            boss = session.get(User, users["boss"])
            visible = list_visible(session, viewer, page=1, size=1, filters={})[0]
            listable = list_visible(session, boss, page=1, size=1, filters={})[0]
            print(f"{args.backend}: the viewer may see {visible} of {listable} listable assets "
                  f"({len(rules.access_of(viewer).group_ids)} groups, "
                  f"{len(rules.access_of(viewer).categories)} categories)", flush=True)
            timings: dict[str, list[float]] = {"filtered": [], "baseline": []}
            pages = [rng.randint(1, args.pages) for _ in range(args.rounds)]
            for who in (viewer, boss):  # warm caches and plans for both
                list_visible(session, who, page=1, size=50, filters={})
            for i, page in enumerate(pages):
                # Alternate, so that noise from other work on the machine hits both alike.
                for name, who in (("filtered", viewer), ("baseline", boss))[::1 if i % 2 else -1]:
                    if args.resolve_each_time:
                        rules.forget_access(who)
                        session.expunge_all()
                        who = session.get(User, who.id)
                    t0 = time.perf_counter()
                    total, items = list_visible(session, who, page=page, size=50, filters={})
                    timings[name].append(time.perf_counter() - t0)
                    assert len(items) == 50, (name, page, total)
                    viewer = who if name == "filtered" else viewer
                    boss = who if name == "baseline" else boss
                if (i + 1) % 50 == 0:
                    print(f"  {i + 1}/{args.rounds} rounds", flush=True)
            session.close()
            engine.dispose()
        finally:
            from openwan.db import dispose_engines

            dispose_engines()
            drop()
    result = {"backend": args.backend, "assets": args.assets, "page_size": 50,
              "rights": "resolved per page" if args.resolve_each_time else "cached",
              "viewer_groups": 20, "visible_assets": visible, "rounds": args.rounds}
    for name, values in timings.items():
        result[f"{name}_p50_s"] = round(statistics.median(values), 5)
        result[f"{name}_p95_s"] = round(percentile(values, 0.95), 5)
        print(f"{name:>9}: p50 {statistics.median(values) * 1000:7.1f} ms   "
              f"p95 {percentile(values, 0.95) * 1000:7.1f} ms", flush=True)
    ratio = result["filtered_p95_s"] / result["baseline_p95_s"]
    result["p95_ratio"] = round(ratio, 3)
    result["target_p95_ratio"] = TARGET_RATIO
    result["meets_target"] = ratio <= TARGET_RATIO
    print(f"the rights filter changes p95 by {100 * (ratio - 1):+.1f}% "
          f"(target: at most +{100 * (TARGET_RATIO - 1):.0f}%)", flush=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
