"""Web search page benchmark: the ``/search`` page and the API call its script makes.

    python bench/web_search.py [--count 10000] [--repeat 40]

Seeds a fresh SQLite database in bulk with ``--count`` assets (the generator and index build
of ``bench/search.py``: mixed Chinese/English titles, categories, catalogue fields), starts
``openwan serve`` on 127.0.0.1, signs in through the login form as a browser does (cookie
session), then times on one keep-alive connection:

- ``page``: ``GET /search`` (the HTML);
- the API calls the page makes, ``GET /api/v1/search?...&size=24``: browsing without words,
  a word, a word with a type facet, a word's second page, a word sorted by title, a category
  facet. Each repetition uses another word, so the result cache does not answer ("cold");
  then the same request again ("warm": what back/forward and shared links usually get).

Both for an administrator and for a restricted viewer (clearance 2, a group bound to half
of the categories). Times are wall-clock on the loopback interface (the server's time plus a
few tenths of a millisecond). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from _common import Server  # noqa: E402

PASSWORD = "Bench-Web-Search-Passphrase-7"
SIZE = 24


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def seed(workdir: Path, count: int) -> str:
    """The database, built in bulk; the bench's admin (1) and viewer (3) get a password."""
    import os

    from sqlalchemy import update

    url = f"sqlite:///{workdir / 'bench.db'}"
    os.environ.update({"OPENWAN_DATA_DIR": str(workdir / "var"), "OPENWAN_DATABASE_URL": url})
    import search as search_bench

    from openwan import migrate
    from openwan.access.passwords import hash_password
    from openwan.config import Settings, set_settings
    from openwan.db import dispose_engines, get_engine, unit_of_work
    from openwan.models import User

    settings = Settings()
    set_settings(settings)
    migrate.upgrade(url)
    t = time.perf_counter()
    search_bench.build(get_engine(settings), settings, "sqlite", count)
    with unit_of_work(settings) as session:
        session.execute(update(User).where(User.id.in_([1, 3]))
                        .values(password_hash=hash_password(PASSWORD)))
    dispose_engines()
    print(f"seeded {count:,} assets in {time.perf_counter() - t:.1f} s", flush=True)
    return url


def sign_in(client: httpx.Client, username: str) -> None:
    response = client.post("/login", data={"username": username, "password": PASSWORD,
                                           "next": "/search"}, follow_redirects=False)
    assert response.status_code == 303, response.text[:300]
    assert "openwan_session" in client.cookies


def requests_for(word: str, category: int) -> dict[str, str]:
    q = f"q={word}"
    return {
        "browse": f"size={SIZE}",
        "word": f"{q}&size={SIZE}",
        "word+type": f"{q}&type=video&size={SIZE}",
        "word page 2": f"{q}&page=2&size={SIZE}",
        "word by title": f"{q}&sort=title&size={SIZE}",
        "category": f"category_id={category}&size={SIZE}",
    }


def timed(client: httpx.Client, path: str) -> float:
    t = time.perf_counter()
    response = client.get(path)
    elapsed = time.perf_counter() - t
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return elapsed


def measure(client: httpx.Client, repeat: int, words: list[str], tops: list[int]
            ) -> dict[str, dict[str, float]]:
    cold: dict[str, list[float]] = {}
    warm: dict[str, list[float]] = {}
    page: list[float] = []
    for i in range(repeat):
        page.append(timed(client, "/search"))
        for name, query in requests_for(words[i % len(words)], tops[i % len(tops)]).items():
            path = "/api/v1/search?" + query
            cold.setdefault(name, []).append(timed(client, path))
            warm.setdefault(name, []).append(timed(client, path))
    out = {"page": {"p50": pct(page, 50), "p95": pct(page, 95)}}
    for name in cold:
        out[f"api {name}"] = {"p50": pct(cold[name], 50), "p95": pct(cold[name], 95),
                              "warm_p50": pct(warm[name], 50), "warm_p95": pct(warm[name], 95)}
    every = [v for values in cold.values() for v in values]
    out["api all (cold)"] = {"p50": pct(every, 50), "p95": pct(every, 95)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="openwan-bench-web-search-"))
    url = seed(workdir, args.count)
    import search as search_bench

    words = list(search_bench.CN)
    random.Random(7).shuffle(words)
    tops = [c["id"] for c in search_bench.make_categories() if c["parent_id"] is None]
    figures: dict[str, dict] = {}
    with Server(workdir / "var", command="serve", OPENWAN_DATABASE_URL=url) as server:
        for who in ("admin", "viewer"):
            with httpx.Client(base_url=server.url, timeout=30) as client:
                sign_in(client, who)
                html = client.get("/search").text
                assert re.search(r"<script type=\"module\" src=\"/static/js/search.js\"", html)
                # A warm-up round first (imports, statement caches, the file cache), with
                # words the measured rounds do not use.
                measure(client, 3, words[-3:], tops)
                results = measure(client, args.repeat, words[:-3], tops)
            figures[who] = results
            print(f"{who}:")
            for name, r in results.items():
                warm = (f"   warm p50 {r['warm_p50'] * 1000:6.1f} ms  p95 "
                        f"{r['warm_p95'] * 1000:6.1f} ms" if "warm_p50" in r else "")
                print(f"  {name:22s} p50 {r['p50'] * 1000:6.1f} ms  p95 {r['p95'] * 1000:6.1f} "
                      f"ms{warm}", flush=True)
    rounded = {who: {name: {k: round(v, 4) for k, v in r.items()} for name, r in res.items()}
               for who, res in figures.items()}
    print(json.dumps({"bench": "web_search", "backend": "sqlite", "assets": args.count,
                      "repeat": args.repeat, "page_size": SIZE,
                      "page_p95_s": rounded["viewer"]["page"]["p95"],
                      "api_p50_s": rounded["viewer"]["api all (cold)"]["p50"],
                      "api_p95_s": rounded["viewer"]["api all (cold)"]["p95"],
                      "baseline": "same requests for an administrator (no rights filter)",
                      "results": rounded}, ensure_ascii=False))


if __name__ == "__main__":
    main()
