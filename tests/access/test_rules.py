"""The access rule at the level of services and SQL, on SQLite, MariaDB and PostgreSQL:
every user kind × status × level × allowed groups × category × download flag."""

from __future__ import annotations

from sqlalchemy import select

from openwan.access import rules
from openwan.assets import service as assets
from openwan.db import unit_of_work
from openwan.models import Asset, AssetStatus
from tests.access.world import add_asset, add_asset_grid, build_world, expect_download, expect_view
from tests.conftest import all_backends


@all_backends
def test_visibility_matrix_sql_and_rows_agree_with_the_rule(settings):
    with unit_of_work(settings) as session:
        w = build_world(session)
        grid = add_asset_grid(session, w)
        ids = {a.id for a in grid}
        checked = 0
        for name, user in w.users.items():
            spec = w.spec[name]
            rules.forget_access(user)
            seen_sql = set(session.scalars(
                select(Asset.id).where(rules.visible_clause(user))).all()) & ids
            expected = {a.id for a in grid if expect_view(spec, user, a)}
            assert seen_sql == expected, name
            for asset in grid:
                assert rules.can_view(user, asset) == (asset.id in expected), (name, asset.id)
                assert rules.can_download(user, asset) == expect_download(spec, user, asset), \
                    (name, asset.id)
                checked += 1
        assert checked == len(w.users) * len(grid) > 3000


@all_backends
def test_the_holes_of_the_original_are_closed(settings):
    with unit_of_work(settings) as session:
        w = build_world(session)
        u, c, g = w.users, w.categories, w.groups
        film = add_asset(session, uploader=u["admin"], status=AssetStatus.published,
                         category=c["film"], download=True)
        sports = add_asset(session, uploader=u["admin"], status=AssetStatus.published,
                           category=c["sports"], download=False)
        secret = add_asset(session, uploader=u["admin"], status=AssetStatus.published,
                           category=c["news"], level=3, download=True)
        pending = add_asset(session, uploader=u["admin"], status=AssetStatus.pending,
                            category=c["news"])
        other_group = add_asset(session, uploader=u["admin"], status=AssetStatus.published,
                                category=c["news"], groups=[g["film"].id], download=True)
        uncategorised = add_asset(session, uploader=u["admin"], status=AssetStatus.published)

        viewer = u["viewer1"]
        # Category binding is enforced on the server: film is not bound to the news group.
        assert not rules.can_view(viewer, film)
        assert rules.can_view(u["filmfan"], film)
        # A binding covers the subtree; the download flag is enforced.
        assert rules.can_view(viewer, sports) and not rules.can_download(viewer, sports)
        # Clearance.
        assert not rules.can_view(viewer, secret) and rules.can_view(u["viewer3"], secret)
        assert rules.can_download(u["viewer3"], secret)
        # Without asset.download, the flag alone is not enough.
        assert rules.can_view(u["browser"], secret) and not rules.can_download(u["browser"],
                                                                                secret)
        # Allowed groups.
        assert not rules.can_view(viewer, other_group)
        assert rules.can_view(u["filmfan"], other_group) is False  # film group, news category
        # Unpublished assets are not listed for viewers, but reviewers see the queue.
        total, items = assets.list_visible(session, viewer, page=1, size=50, filters={})
        listed = {a.id for a in items}
        assert pending.id not in listed and sports.id in listed and total == len(listed)
        assert rules.can_view(u["reviewer"], pending)
        assert not rules.can_view(u["filmfan"], pending)
        # Uncategorised assets need a group bound to every category.
        assert not rules.can_view(viewer, uncategorised)
        assert rules.can_view(u["allview"], uncategorised)
        # No groups at all: nothing, whatever the clearance.
        assert not any(rules.can_view(u["nogroup"], a)
                       for a in (film, sports, secret, pending, other_group, uncategorised))
        # Administrators see everything.
        assert all(rules.can_view(u["admin"], a)
                   for a in (film, sports, secret, pending, other_group, uncategorised))


@all_backends
def test_paging_is_correct_under_the_filter(settings):
    with unit_of_work(settings) as session:
        w = build_world(session)
        grid = add_asset_grid(session, w)
        user = w.users["viewer3"]
        expected = sorted((a for a in grid if expect_view(w.spec["viewer3"], user, a)
                           and a.status != "deleted"),
                          key=lambda a: (a.created_at, a.id), reverse=True)
        pages = []
        for page in range(1, 10):
            total, items = assets.list_visible(session, user, page=page, size=7, filters={})
            assert total == len(expected)
            pages.extend(a.id for a in items)
        assert pages == [a.id for a in expected]


@all_backends
def test_allowed_groups_are_mirrored_for_the_filter(settings):
    """``Asset.groups`` (the API field) and its indexable copy never disagree."""
    from openwan.models import AssetGroup

    with unit_of_work(settings) as session:
        w = build_world(session)
        asset = add_asset(session, uploader=w.users["admin"], groups=[w.groups["film"].id])
        asset_id = asset.id
    for value in ([w.groups["news"].id, w.groups["film"].id, w.groups["news"].id], "all",
                  [w.groups["all"].id]):
        with unit_of_work(settings) as session:
            session.get(Asset, asset_id).groups = value
        with unit_of_work(settings) as session:
            row = session.get(Asset, asset_id)
            links = sorted(session.scalars(select(AssetGroup.group_id)
                                           .where(AssetGroup.asset_id == asset_id)).all())
            if value == "all":
                assert row.groups == "all" and row.all_groups and links == []
            else:
                assert row.groups == sorted(set(value)) == links and not row.all_groups
