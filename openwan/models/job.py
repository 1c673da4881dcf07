from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from openwan.models.base import Base, BigId, UTCDateTime, utcnow


class JobState(StrEnum):
    queued = "queued"  # a message is (or should be) in the queue
    running = "running"  # a worker holds it and beats its heartbeat
    done = "done"
    failed = "failed"  # a permanent error (corrupt input): retrying would not help
    dead = "dead"  # gave up after the queue's maxReceiveCount attempts


class Job(Base):
    """The durable record of a queued job; the queue message only carries its id."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_state_deadline", "state", "deadline"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    asset_id: Mapped[int | None] = mapped_column(
        ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16), default=JobState.queued)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    stage: Mapped[str | None] = mapped_column(String(32))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(128))
    # Which worker holds it (host:pid:thread) while running.
    worker: Mapped[str | None] = mapped_column(String(128))
    # Past this, the reconciler treats the job as lost and sends it again.
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
