"""The listing's rights filter on SQLite, MariaDB and PostgreSQL: its totals and pages against
the rule written out by hand, and the copies on ``asset_groups`` (status, level, category)
that it reads, through every change that moves them."""

from __future__ import annotations

from sqlalchemy import select

from openwan.assets import service as assets
from openwan.catalog import categories
from openwan.db import unit_of_work
from openwan.models import Asset, AssetGroup, AssetStatus, Category, User
from openwan.workflow import service as workflow
from tests.access.world import (
    STATUSES,
    add_asset,
    add_asset_grid,
    add_category,
    build_world,
    expect_view,
)
from tests.conftest import all_backends


def _listed(session, user, filters: dict) -> tuple[int, list[int]]:
    """Every page of ``user``'s listing: the totals seen and the ids in order."""
    totals, ids = set(), []
    page = 1
    while True:
        total, items = assets.list_visible(session, user, page=page, size=7, filters=filters)
        totals.add(total)
        if not items:
            break
        ids.extend(a.id for a in items)
        page += 1
    assert len(totals) == 1, totals
    return totals.pop(), ids


@all_backends
def test_listing_totals_and_pages_follow_the_rule_for_every_user(settings):
    with unit_of_work(settings) as session:
        w = build_world(session)
        grid = add_asset_grid(session, w, small=True)
        # Own assets of a reviewer, in and out of their categories, in every status: the
        # branches of the filter overlap there unless they exclude each other exactly.
        for status in STATUSES:
            for category in (w.categories["news"], w.categories["film"], None):
                grid.append(add_asset(session, uploader=w.users["reviewer"], status=status,
                                      category=category, groups=[w.groups["film"].id]))
        news = w.categories["news"].id
        filter_sets = [{"status": status} for status in (None, *STATUSES)] + [
            {"type": "image"}, {"type": "video"}, {"media_state": "ready"},
            {"category_id": news}, {"category_id": news, "status": AssetStatus.deleted}]
        for name, user in w.users.items():
            for filters in filter_sets:
                expected = sorted((a for a in grid if expect_view(w.spec[name], user, a)
                                   and _matches(a, filters)),
                                  key=lambda a: (a.created_at, a.id), reverse=True)
                total, listed = _listed(session, user, filters)
                assert total == len(expected), (name, filters)
                assert listed == [a.id for a in expected], (name, filters)


def _matches(asset: Asset, filters: dict) -> bool:
    """The listing's filters by hand: without a status, the recycle bin is left out."""
    status = filters.get("status")
    in_status = asset.status == status if status else asset.status != AssetStatus.deleted
    return in_status and all(getattr(asset, key) == value for key, value in filters.items()
                             if key != "status")


def _links(session, asset_id: int) -> list[tuple]:
    return sorted(tuple(row) for row in session.execute(
        select(AssetGroup.group_id, AssetGroup.status, AssetGroup.level, AssetGroup.category_id)
        .where(AssetGroup.asset_id == asset_id)))


def _expected_links(asset: Asset) -> list[tuple]:
    if asset.groups == "all":
        return []
    return [(g, asset.status, asset.level, asset.category_id) for g in asset.groups]


@all_backends
def test_group_links_follow_every_change_of_their_asset(settings):
    with unit_of_work(settings) as session:
        w = build_world(session)
        admin_id, filmfan_id = w.users["admin"].id, w.users["filmfan"].id
        film, news = w.groups["film"].id, w.groups["news"].id
        asset = add_asset(session, uploader=w.users["admin"], status=AssetStatus.pending,
                          category=w.categories["film"], groups=[news])
        asset_id, film_category = asset.id, w.categories["film"].id
        spare = add_category(session, "纪录片").id
        goes_id = add_category(session, "旧栏目").id

    def step(change, *, seen_by_filmfan: bool) -> None:
        with unit_of_work(settings) as session:
            change(session, session.get(Asset, asset_id), session.get(User, admin_id))
        with unit_of_work(settings) as session:
            row = session.get(Asset, asset_id)
            assert _links(session, asset_id) == _expected_links(row)
            _, listed = _listed(session, session.get(User, filmfan_id), {})
            assert (asset_id in listed) is seen_by_filmfan

    step(lambda s, a, u: workflow.approve(s, u, a, level=2, groups=[film, news]),
         seen_by_filmfan=True)
    step(lambda s, a, u: setattr(a, "level", 5), seen_by_filmfan=True)
    step(lambda s, a, u: setattr(a, "groups", [news]), seen_by_filmfan=False)
    step(lambda s, a, u: setattr(a, "groups", [film]), seen_by_filmfan=True)
    step(lambda s, a, u: workflow.delete(s, u, a), seen_by_filmfan=False)
    step(lambda s, a, u: workflow.restore(s, u, a), seen_by_filmfan=True)
    step(lambda s, a, u: setattr(a, "category_id", spare), seen_by_filmfan=False)
    step(lambda s, a, u: setattr(a, "category_id", film_category), seen_by_filmfan=True)
    step(lambda s, a, u: setattr(a, "status", AssetStatus.pending), seen_by_filmfan=False)
    step(lambda s, a, u: workflow.reject(s, u, a, comment="俗称"), seen_by_filmfan=False)
    # Assets of a deleted category move in bulk (a Core UPDATE); their links move too.
    step(lambda s, a, u: setattr(a, "category_id", goes_id), seen_by_filmfan=False)
    step(lambda s, a, u: categories.delete(s, s.get(Category, goes_id), move_to=spare),
         seen_by_filmfan=False)
    with unit_of_work(settings) as session:
        assert {link[3] for link in _links(session, asset_id)} == {spare}


@all_backends
def test_the_migration_gives_existing_links_their_assets_values(settings):
    from alembic import command
    from sqlalchemy import column, insert, table

    from openwan import migrate
    from openwan.db import get_engine
    from openwan.models.base import utcnow

    with unit_of_work(settings) as session:
        w = build_world(session)
        film = w.groups["film"].id
        category = w.categories["film"].id
    config = migrate.alembic_config(settings.database_url)
    command.downgrade(config, "0006")
    links = table("asset_groups", column("asset_id"), column("group_id"))
    with get_engine(settings).begin() as conn:
        asset_id = conn.execute(insert(Asset.__table__).values(
            type="image", title="old", filename="old.png", extension="png", size=1,
            sha256="0" * 64, mime_type="image/png", storage_key="original/image/old.png",
            status="published", media_state="ready", level=3, groups=[film],
            all_groups=False, download=False, category_id=category, metadata={},
            technical={}, created_at=utcnow(), updated_at=utcnow())).inserted_primary_key[0]
        conn.execute(insert(links).values(asset_id=asset_id, group_id=film))
    command.upgrade(config, "head")
    with unit_of_work(settings) as session:
        assert _links(session, asset_id) == [(film, "published", 3, category)]
