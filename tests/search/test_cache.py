"""Search results are cached per caller and query (``search.service.search_json``): a
repeated search runs no query, and each kind of change retires it on the next request."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from openwan.catalog import categories
from openwan.db import get_engine, unit_of_work
from openwan.models import Asset, User
from openwan.search import index
from tests.conftest import all_backends, login
from tests.search.helpers import PASSWORD, change_asset, ids, make_asset, make_user


@pytest.fixture
def statements(settings):
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(get_engine(settings), "before_cursor_execute", count)
    yield seen
    event.remove(get_engine(settings), "before_cursor_execute", count)


def _q(client, headers, **params):
    response = client.get("/api/v1/search", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response


@all_backends
def test_a_repeated_search_runs_no_query_until_something_changes(client, auth, settings,
                                                                   statements):
    with unit_of_work(settings) as session:
        category_id = categories.create(session, "港口").id
    harbour = make_asset(settings, "Harbour lights", category_id=category_id)
    first = _q(client, auth, q="harbour")
    assert ids(first) == [harbour]
    assert first.json()["category_names"] == {str(category_id): "港口"}

    statements.clear()
    again = _q(client, auth, q="harbour")
    assert again.content == first.content and statements == []
    # Another page, size or filter is another query.
    assert _q(client, auth, q="harbour", size=5).json()["size"] == 5 and statements

    # The asset's row changes (the listing epoch).
    change_asset(settings, harbour, title="Harbour at noon")
    assert _q(client, auth, q="harbour").json()["items"][0]["title"] == "Harbour at noon"

    # The row changes first and the index after it, in a transaction of its own (as a job
    # does): a search in between caches what the old document matches...
    with unit_of_work(settings) as session:
        session.get(Asset, harbour).title = "Quay at noon"
    assert ids(_q(client, auth, q="harbour")) == [harbour]
    # ...and the index's own change retires that entry (the search epoch).
    with unit_of_work(settings) as session:
        index.reindex(session, [harbour])
    assert ids(_q(client, auth, q="harbour")) == []
    assert ids(_q(client, auth, q="quay")) == [harbour]

    # A category renamed (the rights epoch): the facet's names follow.
    with unit_of_work(settings) as session:
        categories.change(session, categories.get(session, category_id), {"name": "码头"})
    assert _q(client, auth, q="quay").json()["category_names"] == {str(category_id): "码头"}


@all_backends
def test_cached_results_are_per_caller_and_follow_their_rights(client, auth, settings):
    make_user(settings, "viewer", level=1)
    viewer = login(client, "viewer", PASSWORD)
    public = make_asset(settings, "长江 sunrise", level=1)
    secret = make_asset(settings, "长江 secret", level=3)
    assert set(ids(_q(client, auth, q="长江"))) == {public, secret}
    assert ids(_q(client, viewer, q="长江")) == [public]
    assert set(ids(_q(client, auth, q="长江"))) == {public, secret}

    # The viewer's clearance is raised: their cached result is retired with their row.
    users = client.get("/api/v1/users", headers=auth).json()
    users = users["items"] if isinstance(users, dict) else users
    viewer_id = next(u["id"] for u in users if u["username"] == "viewer")
    response = client.patch(f"/api/v1/users/{viewer_id}", headers=auth, json={"level": 3})
    assert response.status_code == 200, response.text
    assert set(ids(_q(client, viewer, q="长江"))) == {public, secret}


def test_malformed_queries_are_refused_before_any_search(client, auth):
    for params in ({"size": 0}, {"size": 101}, {"sort": "random"}, {"type": "film"},
                   {"page": "x"}, {"level": 9}, {"q": "x" * 1001}, {"bogus": "1"},
                   {"m.题名": "x"}, {"from": "yesterday"}):
        response = client.get("/api/v1/search", params=params, headers=auth)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["error"]["code"] in ("validation_error", "unprocessable"), params
    # Without a token the answer is a 401, whatever the query.
    assert client.get("/api/v1/search", params={"q": "x"}).status_code == 401


def test_searches_missing_the_cache_pass_the_gate_in_order(settings, monkeypatch):
    """At most ``OPENWAN_SEARCH_CONCURRENCY`` searches at work at once, served in order."""
    import asyncio
    import threading
    import time

    from openwan.search import service

    busy, most, order = [0], [0], []
    lock = threading.Lock()

    def slow_search(settings, user, params):
        with lock:
            busy[0] += 1
            most[0] = max(most[0], busy[0])
            order.append(params.page)  # the order in which they started
        time.sleep(0.02)
        with lock:
            busy[0] -= 1
        return service.SearchResult(0, True, [], service.empty_facets(), {}, [])

    monkeypatch.setattr(service, "_search_ids", slow_search)
    user = User(id=1)
    limited = settings.model_copy(update={"catalog": settings.catalog.model_copy(
        update={"search_concurrency": 2})})

    async def main():
        runs = []
        for page in range(1, 9):
            runs.append(asyncio.create_task(service.search_json(
                limited, user, service.SearchParams(q="x", page=page))))
            await asyncio.sleep(0)  # arrive one after another
        return await asyncio.gather(*runs)

    bodies = asyncio.run(main())
    assert most[0] == 2 and len(bodies) == 8
    assert [set(order[i:i + 2]) for i in range(0, 8, 2)] == [{1, 2}, {3, 4}, {5, 6}, {7, 8}]
