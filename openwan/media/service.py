"""Media jobs: the durable job row, sending after commit, claiming, outcomes, reconciling.

A job row is written in a transaction and its message sent only after that commits; the
message carries the job's id and name, never objects. The reconciler re-sends what was lost.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session

from openwan.config import Settings
from openwan.db import unit_of_work
from openwan.kit.errors import without_paths
from openwan.models import Asset, Job, JobState, MediaState, utcnow
from openwan.queue import Message, QueueError, get_queue

log = logging.getLogger("openwan.jobs")

PROCESS = "media.process"
# A job whose message could not be sent, or an asset left without a job (a crash between
# commit and send), is picked up by the reconciler after this long.
UNSENT_GRACE = timedelta(seconds=30)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"


def _deadline(settings: Settings, seconds: float | None = None):
    return utcnow() + timedelta(seconds=settings.queue.stale_seconds if seconds is None
                                else seconds)


def new_job(session: Session, settings: Settings, asset_id: int, name: str = PROCESS) -> Job:
    """Add a queued job for the asset (flushed, not committed); send it after commit."""
    job = Job(name=name, payload={"asset_id": asset_id}, asset_id=asset_id,
              state=JobState.queued, attempts=0, progress=0.0,
              deadline=_deadline(settings))
    session.add(job)
    session.flush()
    return job


def send(settings: Settings, job_id: int, *, delay: int = 0) -> bool:
    """Send the committed job's message; False (and the reconciler's turn) if the queue
    is unreachable."""
    with unit_of_work(settings) as session:
        job = session.get(Job, job_id)
        if job is None:
            return False
        body = {"name": job.name, "job_id": job.id, **job.payload}
    try:
        message_id = get_queue(settings).send(body, delay=delay)
    except QueueError as exc:
        log.error("job %s not sent (%s); the reconciler will send it", job_id, exc)
        return False
    with unit_of_work(settings) as session:
        session.execute(update(Job).where(Job.id == job_id, Job.state == JobState.queued)
                        .values(message_id=message_id))
    return True


def enqueue_asset(settings: Settings, asset_id: int) -> int:
    """The asset's row is committed: record its processing job, then send it."""
    with unit_of_work(settings) as session:
        job_id = new_job(session, settings, asset_id).id
    send(settings, job_id)
    return job_id


def reprocess(settings: Settings, asset_id: int) -> int:
    """Queue the asset again (after a failure, or to rebuild renditions with new profiles)."""
    with unit_of_work(settings) as session:
        asset = session.get(Asset, asset_id)
        if asset is None:
            raise LookupError(f"asset {asset_id} not found")
        asset.media_state = MediaState.queued
        asset.media_error = None
        # An older job still queued or running is superseded: its message will be dropped.
        session.execute(update(Job).where(Job.asset_id == asset_id,
                                          Job.state.in_([JobState.queued, JobState.running]))
                        .values(state=JobState.failed, error="superseded by a newer job",
                                finished_at=utcnow()))
        job_id = new_job(session, settings, asset_id).id
    send(settings, job_id)
    return job_id


def retry(settings: Settings, job_id: int) -> int:
    """``openwan jobs retry ID``: the job's asset processed again (a new job row)."""
    with unit_of_work(settings) as session:
        job = session.get(Job, job_id)
        if job is None:
            raise LookupError(f"job {job_id} not found")
        asset_id = job.asset_id
    if asset_id is None:
        raise LookupError(f"job {job_id} has no asset any more")
    return reprocess(settings, asset_id)


def redrive(settings: Settings, limit: int | None = None) -> list[int]:
    """Move dead letters back to the queue; their jobs and assets are queued again."""
    moved = get_queue(settings).redrive(limit)
    named = {(m.body["job_id"], m.body.get("name")) for m in moved
             if isinstance(m.body.get("job_id"), int)}
    ids: list[int] = []
    with unit_of_work(settings) as session:
        for job in session.scalars(select(Job).where(Job.id.in_([i for i, _ in named]))):
            if (job.id, job.name) not in named:
                continue  # a message that only borrowed the id
            ids.append(job.id)
            job.state, job.attempts, job.error = JobState.queued, 0, None
            job.deadline = _deadline(settings)
            asset = session.get(Asset, job.asset_id) if job.asset_id else None
            if asset is not None and asset.media_state != MediaState.ready:
                asset.media_state, asset.media_error = MediaState.queued, None
    return ids


# -- the worker's side ------------------------------------------------------------------------
def claim(settings: Settings, job_id: int, message: Message, worker: str) -> Job | None:
    """Take the job for this message, or None if it is done, superseded or held by a live
    worker (a duplicate message: the caller deletes it)."""
    now = utcnow()
    lease = _deadline(settings, settings.queue.visibility_timeout)
    with unit_of_work(settings) as session:
        # Compare-and-set, so two workers holding copies of one job never both run it.
        claimable = or_(
            Job.state.in_([JobState.queued, JobState.dead]),
            and_(Job.state == JobState.running,
                 or_(Job.deadline < now, Job.message_id == message.id)))
        taken = session.execute(
            update(Job).where(Job.id == job_id, claimable).values(
                state=JobState.running, attempts=Job.attempts + 1, worker=worker,
                message_id=message.id, deadline=lease, started_at=now, stage="start",
                progress=0.0, updated_at=now)).rowcount
        if not taken:
            return None
        job = session.get(Job, job_id)
        asset = session.get(Asset, job.asset_id) if job and job.asset_id else None
        if asset is not None:
            asset.media_state = MediaState.processing
        return job


def heartbeat(settings: Settings, job_id: int, worker: str, stage: str | None,
              progress: float) -> None:
    """Still alive: push the deadline out and record the stage and progress."""
    with unit_of_work(settings) as session:
        session.execute(update(Job).where(Job.id == job_id, Job.worker == worker,
                                          Job.state == JobState.running).values(
            deadline=_deadline(settings, settings.queue.visibility_timeout), stage=stage,
            progress=round(min(max(progress, 0.0), 1.0), 4), updated_at=utcnow()))


def mark_done(session: Session, job_id: int) -> None:
    session.execute(update(Job).where(Job.id == job_id).values(
        state=JobState.done, stage="done", progress=1.0, error=None, finished_at=utcnow(),
        deadline=None))


def _finish(settings: Settings, job_id: int, *, state: JobState, error: str, stage: str | None,
            asset_state: MediaState, asset_error: str | None, deadline=None) -> None:
    with unit_of_work(settings) as session:
        job = session.get(Job, job_id)
        if job is None:
            return
        job.state, job.error, job.stage, job.deadline = state, error[:4000], stage, deadline
        if state in (JobState.failed, JobState.dead):
            job.finished_at = utcnow()
        asset = session.get(Asset, job.asset_id) if job.asset_id else None
        if asset is not None and asset.media_state != MediaState.ready:
            asset.media_state = asset_state
            asset.media_error = without_paths(asset_error)


def fail(settings: Settings, job_id: int, stage: str, message: str) -> None:
    """A permanent failure: the asset says ``failed`` with the stage and why."""
    _finish(settings, job_id, state=JobState.failed, error=message, stage=stage,
            asset_state=MediaState.failed, asset_error=f"{stage}: {message}")


def give_up(settings: Settings, job_id: int, stage: str | None, message: str,
            attempts: int) -> None:
    """The last attempt failed: the message goes to the dead-letter queue."""
    text = f"gave up after {attempts} attempts; last error at {stage or 'start'}: {message}"
    _finish(settings, job_id, state=JobState.dead, error=text, stage=stage,
            asset_state=MediaState.failed, asset_error=text)


def retry_later(settings: Settings, job_id: int, stage: str | None, message: str,
                attempt: int, delay: int) -> None:
    text = f"attempt {attempt} failed at {stage or 'start'}: {message}; retrying"
    _finish(settings, job_id, state=JobState.queued, error=text, stage=stage,
            asset_state=MediaState.queued, asset_error=text,
            deadline=_deadline(settings, delay + settings.queue.visibility_timeout))


def release(settings: Settings, job_id: int, worker: str) -> None:
    """Shutting down: hand the job back (its message becomes visible at once)."""
    with unit_of_work(settings) as session:
        session.execute(update(Job).where(Job.id == job_id, Job.worker == worker,
                                          Job.state == JobState.running).values(
            state=JobState.queued, stage="handed back", worker=None,
            deadline=_deadline(settings, settings.queue.visibility_timeout)))
        job = session.get(Job, job_id)
        asset = session.get(Asset, job.asset_id) if job and job.asset_id else None
        if asset is not None and asset.media_state == MediaState.processing:
            asset.media_state = MediaState.queued


# -- the reconciler ---------------------------------------------------------------------------
def reconcile(settings: Settings) -> dict[str, int]:
    """Re-send lost jobs, fail those whose workers died too often, and queue assets that
    never got a job. Safe to run in every worker at once (compare-and-set updates)."""
    now = utcnow()
    vt = timedelta(seconds=settings.queue.visibility_timeout)
    limit = settings.queue.max_receive_count
    counts = {"resent": 0, "dead": 0, "created": 0}
    resend: list[int] = []
    with unit_of_work(settings) as session:
        # Running past the deadline: the worker stopped beating. Its message reappears by
        # itself after the visibility timeout; only if nobody claimed it a full timeout later
        # is it lost. After maxReceiveCount attempts the queue dead-letters it: say so.
        stuck = session.scalars(select(Job).where(Job.state == JobState.running,
                                                  Job.deadline < now).limit(500)).all()
        for job in stuck:
            if job.attempts >= limit:
                text = (f"gave up after {job.attempts} attempts; the worker stopped responding "
                        f"during {job.stage or 'start'}")
                if _cas(session, job, state=JobState.dead, error=text, finished_at=now):
                    asset = session.get(Asset, job.asset_id) if job.asset_id else None
                    if asset is not None and asset.media_state != MediaState.ready:
                        asset.media_state, asset.media_error = MediaState.failed, text
                    counts["dead"] += 1
            elif job.deadline < now - vt and _cas(session, job, state=JobState.queued,
                                                  deadline=now + vt):
                resend.append(job.id)
        # Queued but never sent (queue down at the time), or sent long ago and never seen.
        lost = session.scalars(select(Job).where(
            Job.state == JobState.queued,
            or_(and_(Job.message_id.is_(None), Job.created_at < now - UNSENT_GRACE),
                Job.deadline < now)).limit(500)).all()
        for job in lost:
            if _cas(session, job, deadline=_deadline(settings)):
                resend.append(job.id)
        # Assets committed but never given a job (the process died before sending).
        orphans = session.scalars(select(Asset.id).where(
            Asset.media_state == MediaState.queued, Asset.created_at < now - UNSENT_GRACE,
            ~exists().where(Job.asset_id == Asset.id)).limit(500)).all()
        for asset_id in orphans:
            resend.append(new_job(session, settings, asset_id).id)
            counts["created"] += 1
    for job_id in resend:
        if send(settings, job_id):
            counts["resent"] += 1
    if any(counts.values()):
        log.info("reconciler: %s", counts)
    return counts


def _cas(session: Session, job: Job, **values: Any) -> bool:
    """Update the job only if nobody else changed it since we read it."""
    done = session.execute(update(Job).where(Job.id == job.id, Job.state == job.state,
                                             Job.updated_at == job.updated_at)
                           .values(updated_at=utcnow(), **values)).rowcount
    return bool(done)


def list_jobs(session: Session, *, state: str | None = None, asset_id: int | None = None,
              limit: int = 50) -> list[Job]:
    query = select(Job).order_by(Job.id.desc()).limit(limit)
    if state:
        query = query.where(Job.state == state)
    if asset_id:
        query = query.where(Job.asset_id == asset_id)
    return list(session.scalars(query))
