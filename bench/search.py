"""Search benchmark: N assets with mixed Chinese/English titles and catalogue fields.

    python bench/search.py [--count 1000000] [--backend sqlite|mariadb|postgres]
                           [--repeat 30] [--keep DIR | --reuse DIR]

Builds a fresh database (SQLite in a temporary directory, or a scratch database on the local
MariaDB/PostgreSQL), loads assets with Core bulk inserts, builds the search index in bulk, then
times a fixed query set for a viewer with restricted rights (clearance 2, in a group bound to
half of the categories, not an uploader):
p50/p95/p99 of the search service (rank, facets, top 20 loaded) for a caller whose rights
are resolved, as the route's cached caller is (resolving them is timed apart and reported
beside: ``p95_with_rights``). The last line is one JSON
object; the baseline is the same common-word query ranked over every match (the naive way)
and a ``LIKE '%…%'`` title scan.

``--reuse DIR`` keeps the work directory and the scratch database like ``--keep``, and the
next run with the same directory, backend and count searches the database already built
(generation and index build take most of an hour at a million assets on MariaDB).

On MariaDB the bench prints the server's ``innodb_buffer_pool_size``. The seed's RDS
parameter group gives InnoDB three quarters of the instance's memory, so the search working
set (assets, documents, postings) is held in memory in production; a server left at the
default 128 MiB reads it from disk instead. The queries are timed twice: at the server's own
setting ("as configured"), then, when that is smaller than the working set, with the buffer
pool raised for the run to hold it ("working set fits", after one warm-up pass), as the
parameter group intends; the old size is restored at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, insert, text  # noqa: E402

CN = str.split(
    "城市 夜景 延时 摄影 新闻 联播 纪录片 访谈 体育 赛事 足球 篮球 天气 预报 财经 评论 文化 遗产 "
      "春节 晚会 长江 黄河 故宫 熊猫 高铁 科技 航天 发射 农业 丰收 海洋 森林 野生 动物 教育 课堂 "
      "医疗 健康 音乐 戏曲 京剧 电影 首映 历史 档案 采访 现场 直播 专题 特别 报道 航拍 山水 古镇 "
      "美食 非遗 民俗 冬奥 长城 西湖 草原 沙漠 雪山 港口 机场 地铁")
EN = str.split(
    "city night timelapse news evening report interview documentary sports football weather "
      "forecast finance culture heritage festival river palace panda railway technology space "
      "launch farm harvest ocean forest wildlife education health music concert opera film "
      "premiere history archive live special coverage aerial drone studio broadcast market "
      "harbour airport subway mountain desert village street portrait")
RARE = ["zeppelin", "quokka", "fjordland", "xylograph"]
CATEGORY_NAMES = ["新闻", "纪录片", "体育", "综艺", "影视", "财经", "文化", "科教", "少儿", "音乐"]
SUBJECTS = ["时政", "社会", "经济", "自然", "人文", "科技", "体育", "娱乐"]
LANGS = ["汉语", "英语", "粤语"]
CODECS = ["h264", "hevc", "prores", "mpeg2video"]
HEIGHTS = [(1920, 1080), (1280, 720), (3840, 2160), (720, 576)]
STATUSES = ["published"] * 14 + ["new", "new", "pending", "pending", "rejected", "deleted"]


def zipf_choice(rng: random.Random, words: list[str], s: float = 1.1) -> str:
    # Inverse-CDF on precomputed Zipf weights (cached on the function).
    key = (id(words), s)
    cache = zipf_choice.__dict__.setdefault("cache", {})
    if key not in cache:
        weights = [1 / (i + 1) ** s for i in range(len(words))]
        total = sum(weights)
        acc, cum = 0.0, []
        for w in weights:
            acc += w / total
            cum.append(acc)
        cache[key] = cum
    import bisect

    return words[min(bisect.bisect(cache[key], rng.random()), len(words) - 1)]


def make_categories() -> list[dict]:
    rows, next_id = [], 1
    for top in CATEGORY_NAMES:
        top_id = next_id
        rows.append({"id": top_id, "parent_id": None, "name": top, "path": f"/{top_id}/",
                     "weight": 0, "enabled": True})
        next_id += 1
        for j in range(4):
            mid_id = next_id
            rows.append({"id": mid_id, "parent_id": top_id, "name": f"{top}{j + 1}组",
                         "path": f"/{top_id}/{mid_id}/", "weight": 0, "enabled": True})
            next_id += 1
            for k in range(4):
                rows.append({"id": next_id, "parent_id": mid_id, "name": f"{top}专题{j}{k}",
                             "path": f"/{top_id}/{mid_id}/{next_id}/", "weight": 0,
                             "enabled": True})
                next_id += 1
    return rows


def make_asset(rng: random.Random, i: int, leaves: list[int], start: datetime,
               step: timedelta) -> dict:
    cn = "".join(zipf_choice(rng, CN) for _ in range(rng.randint(2, 4)))
    en = " ".join(zipf_choice(rng, EN).capitalize() for _ in range(rng.randint(1, 3)))
    title = f"{cn} {en}" if rng.random() < 0.6 else cn
    if rng.random() < 0.0004:
        title += " " + rng.choice(RARE)
    if rng.random() < 0.2:
        title += f" 第{rng.randint(1, 40)}集"
    status = rng.choice(STATUSES)
    created = start + step * i
    width, height = rng.choice(HEIGHTS)
    return {
        "id": i, "type": rng.choice(["video"] * 6 + ["audio", "image", "image", "document"]),
        "title": title, "filename": f"clip_{i:07d}.mp4", "extension": "mp4",
        "size": rng.randint(10**6, 10**9), "sha256": f"{i:064x}", "mime_type": "video/mp4",
        "storage_key": f"original/video/bench/{i}.mp4", "status": status,
        "media_state": "ready", "media_error": None, "level": rng.choice([1, 1, 2, 3, 4, 5]),
        "groups": "all", "download": True, "category_id": rng.choice(leaves),
        "metadata": {"主题": {"分类名": rng.choice(SUBJECTS),
                            "主题词": f"{zipf_choice(rng, CN)} {zipf_choice(rng, EN)}"},
                     "描述": {"语种": rng.choice(LANGS)}},
        "technical": {"duration": round(rng.uniform(5, 7200), 1), "width": width,
                      "height": height, "video_codec": rng.choice(CODECS)},
        "uploaded_by": 2, "created_at": created, "updated_at": created,
        "published_at": created + timedelta(hours=1) if status == "published" else None,
        "published_by": 1 if status == "published" else None,
    }


def database(backend: str, workdir: Path, *, fresh: bool = True) -> str:
    """The scratch database's URL; ``fresh`` drops and creates it first."""
    if backend == "sqlite":
        if fresh:
            (workdir / "bench.db").unlink(missing_ok=True)
        return f"sqlite:///{workdir / 'bench.db'}"
    if backend == "mariadb":
        admin = create_engine("mysql+pymysql://root@127.0.0.1:3306/")
        with admin.connect() as conn:
            if not fresh:
                return "mysql+pymysql://root@127.0.0.1:3306/openwan_bench_search?charset=utf8mb4"
            conn.execute(text("DROP DATABASE IF EXISTS openwan_bench_search"))
            conn.execute(text("CREATE DATABASE openwan_bench_search CHARACTER SET utf8mb4 "
                              "COLLATE utf8mb4_unicode_ci"))
        return "mysql+pymysql://root@127.0.0.1:3306/openwan_bench_search?charset=utf8mb4"
    admin = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not fresh:
            return "postgresql+psycopg://postgres@127.0.0.1:5432/openwan_bench_search"
        conn.execute(text("DROP DATABASE IF EXISTS openwan_bench_search WITH (FORCE)"))
        conn.execute(text("CREATE DATABASE openwan_bench_search ENCODING 'UTF8' "
                          "TEMPLATE template0"))
    return "postgresql+psycopg://postgres@127.0.0.1:5432/openwan_bench_search"


def drop(backend: str, workdir: Path) -> None:
    """Remove the scratch database (a million assets take a gigabyte or two)."""
    import shutil

    if backend == "mariadb":
        with create_engine("mysql+pymysql://root@127.0.0.1:3306/").connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS openwan_bench_search"))
    elif backend == "postgres":
        admin = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                              isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS openwan_bench_search WITH (FORCE)"))
    shutil.rmtree(workdir, ignore_errors=True)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


QUERIES = {
    "rare word": {"q": "zeppelin"},
    "common word": {"q": "news"},
    "two words": {"q": "city night"},
    "chinese 2-char": {"q": "夜景"},
    "phrase": {"q": '"evening news"'},
    "mixed": {"q": "新闻 football"},
    "filter only": {"type": "video", "category_id": 1},
    "facets+filters": {"q": "纪录片", "type": "video", "level": 1,
                       "date_from": datetime(2016, 1, 1, tzinfo=UTC)},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "mariadb", "postgres"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--window", type=int, default=None)
    kept = parser.add_mutually_exclusive_group()
    kept.add_argument("--keep", type=Path, default=None,
                      help="work directory to keep (and keep the scratch database)")
    kept.add_argument("--reuse", type=Path, default=None,
                      help="like --keep, and search the database a previous run with this "
                           "directory, backend and count built instead of building it again")
    args = parser.parse_args()

    workdir = args.reuse or args.keep or Path(tempfile.mkdtemp(prefix="openwan-bench-search-"))
    workdir.mkdir(parents=True, exist_ok=True)
    marker = workdir / f"built-{args.backend}.json"
    built = None
    if args.reuse and marker.exists():
        built = json.loads(marker.read_text())
        if built.get("count") != args.count:
            built = None
    url = database(args.backend, workdir, fresh=built is None)
    os.environ.update({"OPENWAN_DATA_DIR": str(workdir / "var"), "OPENWAN_DATABASE_URL": url})
    if args.window:
        os.environ["OPENWAN_SEARCH_WINDOW"] = str(args.window)

    from openwan import migrate
    from openwan.config import Settings, set_settings
    from openwan.db import get_engine

    settings = Settings()
    set_settings(settings)
    migrate.upgrade(url)
    engine = get_engine(settings)
    print(f"backend {args.backend}, {args.count:,} assets, work dir {workdir}", flush=True)
    pool = BufferPool(engine) if args.backend == "mariadb" else None
    try:
        if built is None:
            if pool is not None:
                pool.fit()  # the build writes the working set: give it the room too
            built = build(engine, settings, args.backend, args.count)
            built.update(count=args.count,
                         index_bytes=index_size(engine, args.backend, workdir))
            if args.reuse:
                marker.write_text(json.dumps(built))
        else:
            print(f"reusing the database built in {built['load_s']:.0f} s", flush=True)
        print(f"load {built['load_s']:.1f} s (index build {built['index_build_s']:.1f} s, "
              f"optimize {built['optimize_s']:.1f} s); index size "
              f"{built['index_bytes'] / 2**20:.0f} MiB", flush=True)
        runs: dict[str, dict] = {}
        from openwan.kit.memory import freeze_startup_objects

        freeze_startup_objects()  # as `openwan up` and `serve` do before serving
        if pool is not None:
            pool.restore()
            print(f"innodb_buffer_pool_size {pool.configured / 2**20:.0f} MiB configured; "
                  f"working set {pool.needed / 2**20:.0f} MiB", flush=True)
            print("as configured:", flush=True)
            runs["as_configured"] = measure(settings, args.repeat)
            if pool.configured < pool.needed:
                pool.fit()
                print(f"working set fits (innodb_buffer_pool_size raised to "
                      f"{pool.current() / 2**20:.0f} MiB for this run, as the seed's parameter "
                      f"group sizes it to hold the working set); warm-up pass first:",
                      flush=True)
                measure(settings, 1, quiet=True)
                runs["working_set_fits"] = measure(settings, args.repeat)
        else:
            runs["as_configured"] = measure(settings, args.repeat)
        baseline = baselines(engine, args.backend)
        for name, seconds in baseline.items():
            print(f"  baseline {name}: {seconds * 1000:.0f} ms", flush=True)
    finally:
        if pool is not None:
            pool.restore()
        engine.dispose()
    if args.keep is None and args.reuse is None:
        drop(args.backend, workdir)
    results = runs.get("working_set_fits") or runs["as_configured"]
    worst = max(r["p95"] for r in results.values())
    worst_with_rights = max(r["p95_with_rights"] for r in results.values())
    out = {"bench": "search", "backend": args.backend, "count": args.count,
           **{k: round(v, 2) for k, v in built.items() if k.endswith("_s")},
           "index_bytes": built["index_bytes"], "worst_p95_s": round(worst, 4),
           "worst_p95_with_rights_s": round(worst_with_rights, 4),
           "queries": rounded(results),
           "baseline": {k: round(v, 4) for k, v in baseline.items()}}
    if pool is not None:
        out.update(buffer_pool_configured=pool.configured, working_set_bytes=pool.needed,
                   as_configured=rounded(runs["as_configured"]))
    print(json.dumps(out))


def rounded(results: dict[str, dict]) -> dict[str, dict]:
    return {k: {m: round(v, 4) if isinstance(v, float) else v for m, v in r.items()}
            for k, r in results.items()}


class BufferPool:
    """MariaDB's ``innodb_buffer_pool_size``: the server's own value, the search working set
    (data and indexes of the tables a search reads), and raising it for a run."""

    TABLES = ("assets", "search_documents", "search_postings", "catalog_values", "categories")

    def __init__(self, engine) -> None:
        self.engine = engine
        self.configured = self.current()
        self.needed = 0

    def current(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text("SELECT @@innodb_buffer_pool_size")).scalar())

    def working_set(self) -> int:
        with self.engine.connect() as conn:
            names = ", ".join(f"'{name}'" for name in self.TABLES)
            size = conn.execute(text(
                "SELECT sum(data_length + index_length) FROM information_schema.tables "
                f"WHERE table_schema = DATABASE() AND table_name IN ({names})")).scalar()
        return int(size or 0)

    def fit(self, floor: int = 4 * 2**30) -> None:
        """Raise the pool to hold the working set with a quarter to spare (at least ``floor``,
        what a build of a million assets grows to)."""
        self.needed = self.working_set()
        target = max(floor, self.needed * 5 // 4)
        if self.current() < target:
            self._set(target)

    def restore(self) -> None:
        self.needed = self.working_set()
        if self.current() != self.configured:
            self._set(self.configured)

    def _set(self, size: int) -> None:
        with self.engine.connect() as conn:
            conn.execute(text(f"SET GLOBAL innodb_buffer_pool_size = {int(size)}"))
            # The resize runs in the background; wait for it to settle.
            for _ in range(600):
                status = conn.execute(text(
                    "SHOW STATUS LIKE 'Innodb_buffer_pool_resize_status'")).one()[1]
                if not status or "complete" in status.lower() or "Completed" in status:
                    break
                time.sleep(0.5)


def build(engine, settings, backend: str, count: int) -> dict[str, float]:
    """Generate ``count`` assets with their search index; returns the build's timings."""
    from openwan.db import unit_of_work
    from openwan.models import (
        Asset,
        CatalogValue,
        Category,
        Group,
        SearchDocument,
        User,
        group_categories,
        user_groups,
    )
    from openwan.search import index as search_index
    from openwan.search.engines import uses_postings

    rng = random.Random(20240601)
    categories = make_categories()
    leaves = [c["id"] for c in categories if c["path"].count("/") == 4]
    now = datetime(2015, 1, 1, tzinfo=UTC)
    with unit_of_work(settings) as session:
        session.execute(insert(User), [
            {"id": 1, "username": "admin", "password_hash": "x", "is_admin": True, "level": 5},
            {"id": 2, "username": "archivist", "password_hash": "x", "level": 5},
            {"id": 3, "username": "viewer", "password_hash": "x", "level": 2}])
        session.execute(insert(Category), categories)
        # Restricted rights: clearance 2 and a group bound to half of the top categories
        # (their subtrees included), as OpenWan's group-category binding.
        group = Group(name="bench-viewers", all_categories=False)
        session.add(group)
        session.flush()
        tops = [c["id"] for c in categories if c["parent_id"] is None]
        session.execute(insert(group_categories),
                        [{"group_id": group.id, "category_id": c} for c in tops[::2]])
        session.execute(insert(user_groups), [{"user_id": 3, "group_id": group.id}])
    cache = {c["id"]: SimpleNamespace(**c) for c in categories}

    with_postings = uses_postings(engine.dialect.name)
    t0 = time.perf_counter()
    batch, index_seconds = 20_000, 0.0
    loaded = 0
    for start in range(1, count + 1, batch):
        step = timedelta(days=3650) / count
        rows = [make_asset(rng, i, leaves, now, step)
                for i in range(start, min(start + batch, count + 1))]
        with engine.begin() as conn:
            conn.execute(insert(Asset.__table__), rows)
        t1 = time.perf_counter()
        docs, values, posted = [], [], []
        for row in rows:
            asset = SimpleNamespace(id=row["id"], title=row["title"], filename=row["filename"],
                                    catalog=row["metadata"], technical=row["technical"],
                                    type=row["type"], status=row["status"],
                                    level=row["level"])
            chain = search_index.category_chain(None, row["category_id"], cache)
            docs.append(search_index.document_row(asset, chain))
            values.extend(search_index.catalog_rows(row["id"], row["metadata"]))
            if with_postings:
                posted.extend(search_index.posting_rows(asset, docs[-1]))
        with engine.begin() as conn:
            conn.execute(insert(SearchDocument.__table__), docs)
            conn.execute(insert(CatalogValue.__table__), values)
            search_index.insert_postings(conn, posted)
        index_seconds += time.perf_counter() - t1
        loaded += len(rows)
        if loaded % 100_000 == 0 or loaded == count:
            print(f"  loaded {loaded:,} in {time.perf_counter() - t0:.0f} s "
                  f"(index part {index_seconds:.0f} s)", flush=True)
    load_seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if backend == "sqlite":
            conn.execute(text("INSERT INTO fts_search(fts_search) VALUES ('optimize')"))
            conn.execute(text("ANALYZE"))
        elif backend == "mariadb":
            conn.execute(text("ANALYZE TABLE assets, search_documents, catalog_values, "
                              "search_postings"))
        else:
            # What autovacuum does after a bulk insert: statistics, and the visibility map
            # that lets the postings' sparsity probe read the index alone.
            conn.execute(text("VACUUM ANALYZE"))
    return {"load_s": load_seconds, "index_build_s": index_seconds,
            "optimize_s": time.perf_counter() - t1}


def measure(settings, repeat: int, *, quiet: bool = False) -> dict[str, dict]:
    """p50/p95/p99 of every query of ``QUERIES`` for the restricted viewer.

    The search route's caller arrives with their rights already resolved (from the rights
    cache, ``deps.cached_current_user``), so the query's figures start there. Resolving them
    (five small queries, on a cold cache or after a rights change) is timed apart, and
    ``*_with_rights`` gives the sum as well.
    """
    from openwan.access.rules import access_of
    from openwan.db import unit_of_work
    from openwan.models import User
    from openwan.search.service import SearchParams, search

    results: dict[str, dict] = {}
    with unit_of_work(settings) as session:
        for name, fields in QUERIES.items():
            params = SearchParams(**fields)
            times, with_rights = [], []
            for _ in range(repeat):
                # A fresh caller each time: nothing of the last search stays in the session.
                session.expunge_all()
                viewer = session.get(User, 3)
                t = time.perf_counter()
                access_of(viewer, session)
                resolved = time.perf_counter()
                result = search(session, viewer, params)
                done = time.perf_counter()
                times.append(done - resolved)
                with_rights.append(done - t)
            results[name] = {"p50": pct(times, 50), "p95": pct(times, 95),
                             "p99": pct(times, 99), "p95_with_rights": pct(with_rights, 95),
                             "total": result.total, "total_exact": result.total_exact}
            if not quiet:
                r = results[name]
                print(f"  {name:16s} p50 {r['p50'] * 1000:7.1f} ms  p95 {r['p95'] * 1000:7.1f} "
                      f"ms  p99 {r['p99'] * 1000:7.1f} ms  total {result.total}"
                      f"{'' if result.total_exact else '+'}  (rights resolved too: p95 "
                      f"{r['p95_with_rights'] * 1000:.1f} ms)", flush=True)
    return results


def index_size(engine, backend: str, workdir: Path) -> int:
    with engine.connect() as conn:
        if backend == "sqlite":
            try:
                return int(conn.execute(text(
                    "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'fts_search%' "
                    "OR name IN ('search_documents', 'catalog_values') "
                    "OR name LIKE 'ix_catalog_values%' OR name LIKE 'ix_search_documents%'"
                )).scalar() or 0)
            except Exception:  # dbstat is optional in SQLite builds
                return (workdir / "bench.db").stat().st_size
        if backend == "mariadb":
            return int(conn.execute(text(
                "SELECT sum(data_length + index_length) FROM information_schema.tables "
                "WHERE table_schema = DATABASE() AND table_name IN "
                "('search_documents', 'catalog_values', 'search_postings')")).scalar() or 0)
        return int(conn.execute(text(
            "SELECT pg_total_relation_size('search_documents') + "
            "pg_total_relation_size('catalog_values') + "
            "pg_total_relation_size('search_postings')")).scalar() or 0)


def baselines(engine, backend: str) -> dict[str, float]:
    from openwan.search import engines, postings
    from openwan.search.tokens import parse_query

    out = {}
    with engine.connect() as conn:
        t = time.perf_counter()
        # What a search without a full-text index does: scan every title.
        conn.execute(text("SELECT id FROM assets WHERE title LIKE '%zeppelin%' AND "
                          "status = 'published' AND level <= 2 ORDER BY id DESC LIMIT 20")).all()
        out["like_scan"] = time.perf_counter() - t
        q = parse_query("news")
        t = time.perf_counter()
        if backend == "sqlite":
            conn.execute(text("SELECT rowid FROM fts_search WHERE fts_search MATCH :q "
                              "ORDER BY bm25(fts_search, 4.0, 1.0) LIMIT 20"),
                         {"q": engines.fts5_query(q)}).all()
        else:
            conn.execute(text(
                "SELECT asset_id FROM search_postings WHERE token = :t "
                "ORDER BY weight DESC LIMIT 20"),
                {"t": postings.key(q.clauses[0].tokens[0])}).all()
        out["rank_all_common_word"] = time.perf_counter() - t
    return out


if __name__ == "__main__":
    main()
