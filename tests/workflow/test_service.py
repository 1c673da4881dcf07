"""The workflow as services (what the catalogue's bulk actions call), on three databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from openwan.db import unit_of_work
from openwan.kit.errors import Conflict, Forbidden, NotFound, Unprocessable
from openwan.models import Asset, AssetGroup, AuditEntry
from openwan.workflow import service as workflow
from tests.access.world import add_asset, build_world
from tests.conftest import all_backends


@all_backends
def test_a_batch_through_the_whole_workflow(settings):
    with unit_of_work(settings) as session:
        w = build_world(session)
        editor, reviewer = w.users["editor"], w.users["reviewer"]
        batch = [add_asset(session, uploader=editor, category=w.categories["news"])
                 for _ in range(3)]
        for asset in batch:
            workflow.submit(session, editor, asset)
        workflow.reject(session, reviewer, batch[0], comment="题名不完整")
        for asset in batch[1:]:
            workflow.approve(session, reviewer, asset, level=3,
                             groups=[w.groups["news"].id, w.groups["film"].id], download=True)
        ids = [a.id for a in batch]
    with unit_of_work(settings) as session:
        rows = {a.id: a for a in session.scalars(select(Asset).where(Asset.id.in_(ids)))}
        first, second = rows[ids[0]], rows[ids[1]]
        assert first.status == "rejected" and first.review_comment == "题名不完整"
        assert second.status == "published" and second.level == 3 and second.download
        assert second.published_by == reviewer.id and second.published_at is not None
        assert second.groups == sorted([w.groups["news"].id, w.groups["film"].id])
        assert sorted(session.scalars(select(AssetGroup.group_id)
                                      .where(AssetGroup.asset_id == second.id))) == \
            sorted([w.groups["news"].id, w.groups["film"].id])
        actions = session.scalars(select(AuditEntry.action).where(
            AuditEntry.target_type == "asset").order_by(AuditEntry.id)).all()
        assert actions == ["asset.submit"] * 3 + ["asset.reject"] + ["asset.approve"] * 2


def test_order_of_refusals_404_then_403_then_409(settings):
    with unit_of_work(settings) as session:
        w = build_world(session)
        news, film = w.categories["news"], w.categories["film"]
        hidden = add_asset(session, uploader=w.users["admin"], status="pending", category=film)
        with pytest.raises(NotFound):
            workflow.approve(session, w.users["reviewer"], hidden, level=1)
        published = add_asset(session, uploader=w.users["admin"], status="published",
                              category=news)
        with pytest.raises(Forbidden):
            workflow.approve(session, w.users["viewer1"], published, level=1)
        with pytest.raises(Conflict):
            workflow.approve(session, w.users["reviewer"], published, level=1)
        pending = add_asset(session, uploader=w.users["admin"], status="pending", category=news)
        session.flush()
        with pytest.raises(Unprocessable):
            workflow.approve(session, w.users["reviewer"], pending, level=99)
        with pytest.raises(Unprocessable):
            workflow.approve(session, w.users["reviewer"], pending, groups=[123456])
        assert pending.status == "pending"


def test_delete_and_restore_return_to_the_previous_status(settings):
    with unit_of_work(settings) as session:
        w = build_world(session)
        reviewer, editor = w.users["reviewer"], w.users["editor"]
        hidden_new = add_asset(session, uploader=editor, category=w.categories["news"])
        with pytest.raises(NotFound):  # reviewers do not see what was never submitted
            workflow.delete(session, reviewer, hidden_new)
        for status in ("new", "pending", "published", "rejected"):
            asset = add_asset(session, uploader=editor, status=status,
                              category=w.categories["news"])
            if status == "new":
                reviewer = w.users["admin"]
            workflow.delete(session, reviewer, asset)
            assert asset.status == "deleted" and asset.previous_status == status
            with pytest.raises(Conflict):
                workflow.delete(session, reviewer, asset)
            workflow.restore(session, reviewer, asset)
            assert asset.status == status and asset.previous_status is None
            reviewer = w.users["reviewer"]
        own = add_asset(session, uploader=editor, category=w.categories["news"])
        workflow.submit(session, editor, own)
        with pytest.raises(Conflict):  # uploaders delete their own only while new
            workflow.delete(session, editor, own)
        fresh = add_asset(session, uploader=editor, category=w.categories["news"])
        workflow.delete(session, editor, fresh)
        with pytest.raises(NotFound):  # the recycle bin is for asset.delete holders
            workflow.restore(session, editor, fresh)


def test_disabled_level_cannot_be_given(settings):
    from openwan.models import Level

    with unit_of_work(settings) as session:
        w = build_world(session)
        session.get(Level, 2).enabled = False
        asset = add_asset(session, uploader=w.users["admin"], status="pending",
                          category=w.categories["news"])
        with pytest.raises(Unprocessable, match="disabled"):
            workflow.approve(session, w.users["admin"], asset, level=2)
        workflow.approve(session, w.users["admin"], asset, level=3)
