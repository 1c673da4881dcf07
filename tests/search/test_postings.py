"""OpenWan's own posting table (all but SQLite): what is posted, and that it stays exactly
in step with the assets through changes, removal, ``reindex`` (batch by batch) and the
migration that introduced it. Searches run on every backend so the answers stay the same
everywhere."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import func, inspect, select

from openwan import migrate
from openwan.db import get_engine, unit_of_work
from openwan.models import Asset, SearchDocument, SearchPosting, User
from openwan.search import index, postings
from openwan.search.service import SearchParams, search
from openwan.search.tokens import document_tokens, parse_query
from tests.conftest import all_backends
from tests.search.helpers import change_asset, make_asset, make_user


def test_weights_count_title_words_more_and_post_prefixes_and_word_pairs():
    title = document_tokens("Evening News", "evening_news.mp4")
    body = document_tokens("news desk")
    weights = postings.weights(title, body)
    assert weights[postings.key("xnews")] == 2 * postings.TITLE_WEIGHT + 1
    assert weights[postings.key("xdesk")] == 1
    # Prefixes of two to PREFIX_CHARS (3) letters, weighed as their words.
    assert weights[postings.key("pne")] == weights[postings.key("pnew")] == 9
    assert postings.key("pnews") not in weights and postings.key("pn") not in weights
    assert weights[postings.key("pde")] == weights[postings.key("pdes")] == 1
    assert weights[postings.key(postings.pair("xevening", "xnews"))] == 2 * postings.TITLE_WEIGHT
    assert postings.key(postings.pair("xnews", "xevening")) in weights  # title, then file name
    # Chinese bigrams are not words: no pairs between them.
    assert not any(postings.key(postings.pair(a, b)) in weights
                   for a in document_tokens("新闻").split() for b in ["xdesk"])


def test_terms_walk_prefixes_and_pairs_and_check_the_rest_on_the_text():
    terms = postings.terms(parse_query('"evening news" documen* 夜景'))
    assert terms.tokens[:3] == ["xevening", "xnews", "xevening+xnews"]
    assert "pdoc" in terms.tokens and "xevening+xnews" not in terms.scored
    assert terms.patterns == ["% xevening xnews %", "% xdocumen%"]
    assert terms.companions("xnews") == {"xevening", "xevening+xnews"}


def _postings(settings) -> set[tuple[int, int, int, str, int]]:
    with unit_of_work(settings) as session:
        return {tuple(r) for r in session.execute(select(
            SearchPosting.token, SearchPosting.asset_id, SearchPosting.weight,
            SearchPosting.type, SearchPosting.level))}


def _expected(settings) -> set[tuple[int, int, int, str, int]]:
    """The postings the current search documents call for (none on SQLite)."""
    with unit_of_work(settings) as session:
        if session.get_bind().dialect.name == "sqlite":
            return set()
        rows = set()
        for document in session.scalars(select(SearchDocument)):
            asset = session.get(Asset, document.asset_id)
            rows.update(index.posting_rows(asset, {"title_tokens": document.title_tokens,
                                                   "body_tokens": document.body_tokens}))
        return rows


def _full_text_indexes(settings) -> set[str]:
    """The FULLTEXT or GIN indexes on the search documents (SQLite's FTS5 is a table)."""
    indexes = inspect(get_engine(settings)).get_indexes("search_documents")
    return {i["name"] for i in indexes if i["name"].startswith("fts_")}


def _found(settings, user_id: int, q: str, **params) -> list[int]:
    with unit_of_work(settings) as session:
        user = session.get(User, user_id)
        return [a.id for a in search(session, user, SearchParams(q=q, **params)).items]


@all_backends
def test_postings_follow_changes_removal_and_reindex(settings):
    admin = make_user(settings, "boss", admin=True)
    keep = make_asset(settings, "Documentaries of the evening news", level=2)
    gone = make_asset(settings, "Docs for the harbour", type="audio", level=3)
    assert _postings(settings) == _expected(settings)
    assert _found(settings, admin, "documen*") == [keep]  # past the posted prefix: checked
    assert set(_found(settings, admin, "do*")) == {gone, keep}
    assert _found(settings, admin, '"evening news"', type="video", level=2) == [keep]
    assert _found(settings, admin, '"evening news"', level=1) == []

    change_asset(settings, keep, title="Harbour lights", level=1)
    assert _postings(settings) == _expected(settings)
    assert _found(settings, admin, "documen*") == []
    assert _found(settings, admin, "harbour", level=1) == [keep]

    with unit_of_work(settings) as session:
        index.remove(session, [gone])
    assert _postings(settings) == _expected(settings)
    assert _found(settings, admin, "harbour") == [keep]

    with unit_of_work(settings) as session:
        assert index.reindex(session) == 2
    assert _postings(settings) == _expected(settings)
    assert set(_found(settings, admin, "harbour")) == {keep, gone}


@all_backends
def test_reindex_all_commits_batch_by_batch_and_resumes(settings):
    admin = make_user(settings, "boss", admin=True)
    ids = [make_asset(settings, f"Harbour film {n}") for n in range(5)]
    with unit_of_work(settings) as session:
        index.remove(session, ids)  # a lost index, or one an older tokenizer wrote
    assert _found(settings, admin, "harbour") == []

    def interrupt(done: int) -> None:
        raise RuntimeError(f"stopped after {done}")

    with pytest.raises(RuntimeError, match="stopped after 2"):
        index.reindex_all(settings, batch=2, progress=interrupt)
    assert sorted(_found(settings, admin, "harbour")) == ids[:2]  # the first batch stayed

    seen: list[int] = []
    assert index.reindex_all(settings, batch=2, progress=seen.append) == 5
    assert seen == [2, 4, 5]
    assert _postings(settings) == _expected(settings)
    assert sorted(_found(settings, admin, "harbour")) == ids


@all_backends
def test_the_migration_posts_the_documents_it_finds(settings):
    admin = make_user(settings, "boss", admin=True)
    asset = make_asset(settings, "Evening news from the harbour")
    config = migrate.alembic_config(settings.database_url)
    command.downgrade(config, "0006")
    if get_engine(settings).dialect.name != "sqlite":
        assert _full_text_indexes(settings)  # what searches used before the postings
    with unit_of_work(settings) as session:
        # What revision 0006 wrote on MySQL: each token again, tagged with its id bucket.
        document = session.get(SearchDocument, asset)
        document.title_tokens += " " + " ".join(f"w000{t}" for t in document.title_tokens.split())
        indexed_then = document.title_tokens
    command.upgrade(config, "head")
    assert _full_text_indexes(settings) == set()
    assert _postings(settings) == _expected(settings)
    with unit_of_work(settings) as session:
        assert session.scalar(select(func.count()).select_from(SearchDocument)) == 1
        title = session.get(SearchDocument, asset).title_tokens
        mysql = session.get_bind().dialect.name in ("mysql", "mariadb")
        assert title == (indexed_then.split(" w000")[0] if mysql else indexed_then)
    assert _found(settings, admin, '"evening news" harbour') == [asset]
