"""Job rows on SQLite, MariaDB and PostgreSQL: claiming, duplicates, reconciling, a pipeline."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from openwan.db import unit_of_work
from openwan.media import service
from openwan.models import Job, utcnow
from openwan.queue import Message, get_queue
from tests.conftest import all_backends
from tests.media import png_bytes
from tests.pipeline.conftest import add_asset, asset_row, drain, renditions


def _message(job_id: int, message_id: str = "m1") -> Message:
    return Message(message_id, {"name": service.PROCESS, "job_id": job_id}, "r", 1, 0.0)


@all_backends
def test_claim_is_exclusive_and_reconciler_recovers(settings, admin, tmp_path):
    path = tmp_path / "red.png"
    path.write_bytes(png_bytes())
    asset_id = add_asset(settings, admin, path)
    with unit_of_work(settings) as session:
        job_id = service.list_jobs(session, asset_id=asset_id)[0].id
    first = service.claim(settings, job_id, _message(job_id, "m1"), "w1")
    assert first is not None and first.attempts == 1
    assert asset_row(settings, asset_id).media_state == "processing"
    # A second copy of the job (e.g. a re-sent message) while the first is alive: refused.
    assert service.claim(settings, job_id, _message(job_id, "m2"), "w2") is None
    # The same message redelivered (its holder stopped extending it): taken over.
    again = service.claim(settings, job_id, _message(job_id, "m1"), "w3")
    assert again is not None and again.attempts == 2
    # The holder dies: the deadline passes, and a full visibility timeout later the
    # reconciler sends the job again.
    with unit_of_work(settings) as session:
        session.execute(update(Job).where(Job.id == job_id).values(
            deadline=utcnow() - timedelta(seconds=settings.queue.visibility_timeout + 5)))
    assert service.reconcile(settings)["resent"] == 1
    get_queue(settings).purge()
    with unit_of_work(settings) as session:
        session.execute(update(Job).where(Job.id == job_id).values(
            state="running", attempts=3, deadline=utcnow() - timedelta(seconds=1)))
    assert service.reconcile(settings)["dead"] == 1
    asset = asset_row(settings, asset_id)
    assert asset.media_state == "failed" and "gave up after 3 attempts" in asset.media_error


@all_backends
def test_pipeline_on_every_database(settings, admin, tmp_path):
    path = tmp_path / "red.png"
    path.write_bytes(png_bytes(64, 48))
    asset_id = add_asset(settings, admin, path)
    assert drain(settings) == 1
    assert asset_row(settings, asset_id).media_state == "ready"
    assert renditions(settings, asset_id)["preview-webp"].width == 64
