"""Search on SQLite, MariaDB and PostgreSQL: Chinese and English, phrases, the access rule,
filters, facets, sorting and hostile input. The same assertions hold on every backend."""

from __future__ import annotations

from datetime import UTC, datetime

from openwan.catalog import categories
from openwan.db import unit_of_work
from openwan.models import User
from openwan.search.service import SearchParams, search
from tests.conftest import all_backends, login
from tests.search.helpers import PASSWORD, change_asset, ids, make_asset, make_user


def _q(client, headers, **params):
    return client.get("/api/v1/search", params=params, headers=headers)


@all_backends
def test_chinese_english_mixed_and_phrases(client, auth, settings):
    night = make_asset(settings, "城市夜景延时摄影", catalog={"主题": {"主题词": "航拍"}})
    news = make_asset(settings, "新闻联播 2024-05-01")
    evening = make_asset(settings, "Evening News Report", filename="evening_news.mp4")
    reversed_ = make_asset(settings, "News of the evening")
    cafe = make_asset(settings, "Café Society — Documentaries", type="audio")
    mixed = make_asset(settings, "新闻 interview 专访")

    assert ids(_q(client, auth, q="夜景")) == [night]
    assert set(ids(_q(client, auth, q="新闻"))) == {news, mixed}
    assert ids(_q(client, auth, q="城市夜景")) == [night]
    assert ids(_q(client, auth, q="景延")) == [night]  # any substring of two or more
    assert ids(_q(client, auth, q="夜城")) == []  # characters present, not in this order
    assert ids(_q(client, auth, q="夜")) == [night]  # one character
    assert ids(_q(client, auth, q="航拍")) == [night]  # a catalogue field
    assert set(ids(_q(client, auth, q="NEWS"))) == {evening, reversed_}
    assert ids(_q(client, auth, q='"evening news"')) == [evening]
    assert ids(_q(client, auth, q='"夜景延时"')) == [night]
    assert ids(_q(client, auth, q="cafe")) == [cafe]  # accent-insensitive
    assert ids(_q(client, auth, q="CAFÉ documentary")) == [cafe]  # stemmed plural
    assert ids(_q(client, auth, q="soci*")) == [cafe]  # prefix
    assert ids(_q(client, auth, q="新闻 interview")) == [mixed]
    assert ids(_q(client, auth, q="新闻interview")) == [mixed]
    assert ids(_q(client, auth, q="evening_news")) == [evening]  # the file name
    assert ids(_q(client, auth, q="ｎｅｗｓ report")) == [evening]  # full-width folded


@all_backends
def test_relevance_prefers_title_and_search_sees_changes_in_the_same_commit(client, auth,
                                                                               settings):
    body_hit = make_asset(settings, "Harbour at dawn", catalog={"主题": {"主题词": "panda"}})
    title_hit = make_asset(settings, "Panda cubs")
    assert ids(_q(client, auth, q="panda")) == [title_hit, body_hit]
    assert ids(_q(client, auth, q="panda", sort="newest")) == [title_hit, body_hit]
    assert ids(_q(client, auth, q="panda", sort="oldest")) == [body_hit, title_hit]
    assert ids(_q(client, auth, q="panda", sort="title")) == [body_hit, title_hit]

    change_asset(settings, title_hit, title="Giant bamboo forest")
    assert ids(_q(client, auth, q="panda")) == [body_hit]
    assert ids(_q(client, auth, q="bamboo")) == [title_hit]


@all_backends
def test_only_what_the_caller_may_see(client, auth, settings):
    archivist = make_user(settings, "archivist", level=1)
    viewer_id = make_user(settings, "viewer", level=2)
    viewer = login(client, "viewer", PASSWORD)
    mine = login(client, "archivist", PASSWORD)
    public = make_asset(settings, "长江 sunrise", level=1)
    secret = make_asset(settings, "长江 secret", level=3)
    new = make_asset(settings, "长江 draft", status="new", uploaded_by=archivist)
    pending = make_asset(settings, "长江 pending", status="pending", uploaded_by=archivist)
    rejected = make_asset(settings, "长江 rejected", status="rejected")
    deleted = make_asset(settings, "长江 deleted", status="deleted")

    assert ids(_q(client, viewer, q="长江")) == [public]
    assert set(ids(_q(client, auth, q="长江"))) == {public, secret}
    # Without a status: the published archive plus one's own work in progress.
    assert set(ids(_q(client, mine, q="长江"))) == {public, new, pending}
    for status in ("new", "pending", "rejected", "deleted"):
        assert ids(_q(client, viewer, q="长江", status=status)) == []
    assert ids(_q(client, mine, q="长江", status="new")) == [new]
    assert ids(_q(client, mine, q="长江", status="pending")) == [pending]
    assert ids(_q(client, auth, q="长江", status="rejected")) == [rejected]
    assert ids(_q(client, auth, q="长江", status="deleted")) == [deleted]

    # Unpublishing removes it from viewers' results at once; so does deleting.
    change_asset(settings, public, status="rejected")
    assert ids(_q(client, viewer, q="长江")) == []
    change_asset(settings, public, status="published")
    assert ids(_q(client, viewer, q="长江")) == [public]
    change_asset(settings, public, status="deleted")
    assert ids(_q(client, viewer, q="长江")) == []
    assert ids(_q(client, viewer)) == []  # browsing without a query too

    # The rule is inside the query: a window of 1 over 3 matches still finds the visible one.
    visible = make_asset(settings, "黄河 visible", level=1)
    for i in range(3):
        make_asset(settings, f"黄河 hidden {i}", level=4)
    with unit_of_work(settings) as session:
        user = session.get(User, viewer_id)
        result = search(session, user, SearchParams(q="黄河"), window=1)
        assert [a.title for a in result.items] == ["黄河 visible"]

    # Clearance bounds the walk of the postings, yet one's own uploads above it still show.
    own = make_asset(settings, "黄河 own", level=4, uploaded_by=archivist)
    assert set(ids(_q(client, mine, q="黄河"))) == {visible, own}
    assert ids(_q(client, viewer, q="黄河")) == [visible]


@all_backends
def test_filters_facets_and_sorting(client, auth, settings):
    with unit_of_work(settings) as session:
        news = categories.create(session, "新闻")
        sports = categories.create(session, "体育", news.id)
        other = categories.create(session, "综艺")
        news_id, sports_id, other_id = news.id, sports.id, other.id
    a = make_asset(settings, "Football final", category_id=sports_id, level=2,
                   created=datetime(2019, 3, 1, tzinfo=UTC),
                   technical={"duration": 5400, "width": 1920, "height": 1080,
                              "video_codec": "h264"},
                   catalog={"主题": {"分类名": "体育"}, "题名": {"分集次": 3}})
    b = make_asset(settings, "Football highlights", category_id=news_id, type="audio",
                   created=datetime(2021, 6, 1, tzinfo=UTC), technical={"duration": 90},
                   catalog={"主题": {"分类名": "Sports"}})
    c = make_asset(settings, "Football gala", category_id=other_id,
                   created=datetime(2021, 8, 1, tzinfo=UTC),
                   technical={"duration": 600, "width": 1280, "height": 720,
                              "video_codec": "HEVC"})

    body = _q(client, auth, q="football").json()
    assert body["total"] == 3 and body["total_exact"] is True
    facets = body["facets"]
    assert facets["type"] == {"video": 2, "audio": 1}
    assert facets["year"] == {"2019": 1, "2021": 2}
    assert facets["level"] == {"1": 2, "2": 1}
    assert facets["category"] == {str(sports_id): 1, str(news_id): 1, str(other_id): 1}
    assert body["category_names"] == {str(sports_id): "体育", str(news_id): "新闻",
                                      str(other_id): "综艺"}

    assert set(ids(_q(client, auth, q="football", category_id=news_id))) == {a, b}
    assert ids(_q(client, auth, q="football", category_id=sports_id)) == [a]
    assert ids(_q(client, auth, q="football", type="audio")) == [b]
    assert ids(_q(client, auth, q="football", level=2)) == [a]
    assert set(ids(_q(client, auth, q="football", **{"from": "2021-01-01"}))) == {b, c}
    assert ids(_q(client, auth, q="football", to="2019")) == [a]
    assert set(ids(_q(client, auth, duration_min=500))) == {a, c}
    assert ids(_q(client, auth, q="football", duration_max=100)) == [b]
    assert ids(_q(client, auth, q="football", codec="hevc")) == [c]
    assert ids(_q(client, auth, min_height=1000)) == [a]
    assert ids(_q(client, auth, q="1080p")) == [a]  # resolution as text
    assert ids(_q(client, auth, q="体育")) == [a]  # category name and field value
    assert ids(_q(client, auth, **{"m.主题.分类名": "sports"})) == [b]  # folded exact
    assert ids(_q(client, auth, **{"m.题名.分集次": "2..4"})) == [a]
    assert ids(_q(client, auth, **{"m.题名.分集次": "4.."})) == []
    assert ids(_q(client, auth, q="football", sort="duration")) == [b, c, a]
    assert ids(_q(client, auth, q="football", sort="-duration")) == [a, c, b]
    assert ids(_q(client, auth, q="football", sort="title")) == [a, c, b]
    assert ids(_q(client, auth, q="football", sort="newest")) == [c, b, a]
    page2 = _q(client, auth, q="football", sort="newest", size=2, page=2).json()
    assert [i["id"] for i in page2["items"]] == [a] and page2["total"] == 3

    # Over the window, totals say they are a lower bound.
    with unit_of_work(settings) as session:
        admin = session.get(User, 1)
        result = search(session, admin, SearchParams(q="football"), window=2)
        assert (result.total, result.total_exact) == (2, False)


def test_hostile_and_malformed_input_is_a_4xx_or_harmless(client, auth, settings):
    make_asset(settings, "Plain title 普通标题")
    for q in ['") OR 1=1 --', "NEAR(", "*", "AND NOT", '"unbalanced', "'; DROP TABLE assets;",
              "a" * 999, "^$%&", "-", '""', "新闻 OR", "title:plain", "{title}: x", "((x"]:
        response = _q(client, auth, q=q)
        assert response.status_code == 200, (q, response.text)
        assert response.json()["total"] >= 0
    assert _q(client, auth, q="*").json()["total"] == 0
    assert _q(client, auth, q='"plain').json()["total"] == 1  # an open quote runs to the end
    assert _q(client, auth, q="").json()["total"] == 1  # empty: browse
    for params in ({"q": "x" * 10_000}, {"size": 1000}, {"page": 0}, {"bogus": "1"},
                   {"m.nope.nothing": "1"}, {"m.bad": "1"}, {"from": "yesterday"},
                   {"type": "movie"}, {"sort": "random"}, {"category_id": 999_999},
                   {"level": 9}, {"m.题名.分集次": "a..b"}):
        response = _q(client, auth, **params)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["error"]["code"] == "validation_error"
    assert client.get("/api/v1/search").status_code == 401


@all_backends
def test_the_window_holds_the_newest_matches_and_rare_words_reach_the_oldest(settings):
    old = make_asset(settings, "quokka archive")
    made = [make_asset(settings, f"harbour scene {i}") for i in range(11)]
    admin = make_user(settings, "boss", admin=True)
    with unit_of_work(settings) as session:
        user = session.get(User, admin)
        newest = search(session, user, SearchParams(q="harbour", sort="newest"), window=4)
        assert [a.id for a in newest.items] == made[::-1][:4]
        assert (newest.total, newest.total_exact) == (4, False)
        everything = search(session, user, SearchParams(q="harbour", sort="newest"), window=50)
        assert [a.id for a in everything.items] == made[::-1] and everything.total_exact
        rare = search(session, user, SearchParams(q="quokka"), window=4)
        assert [a.id for a in rare.items] == [old] and rare.total_exact
        phrase = search(session, user, SearchParams(q='"harbour scene"', type="video"),
                        window=100)
        assert phrase.total == 11
