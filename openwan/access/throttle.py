"""Sign-in throttling, shared by every process through the database.

Failures are counted per (account, client address) and per client address, in windows of
``OPENWAN_LOGIN_WINDOW_SECONDS`` (15 min) from the first failure:

- an (account, address) pair gets ``OPENWAN_LOGIN_MAX_FAILURES`` (5) free failures, then
  waits ``OPENWAN_LOGIN_BACKOFF_SECONDS`` (30 s) after its latest failure, doubling with each
  further failure up to the window. Nobody else is affected: failures from other addresses
  never lock an account (an administrator's included), and the right password from a clean
  address always gets through;
- an address gets ``OPENWAN_LOGIN_IP_MAX_FAILURES`` (50) failures over all accounts, then
  backs off the same way for every account: one address guessing many accounts is slowed.

Attempts refused while waiting are not counted (a blind retry loop does not lengthen its own
wait). A successful sign-in clears its pair. The state is a row per key in ``login_throttle``,
written in the sign-in's own transaction with one atomic upsert per key, so it holds across
processes and tasks with or without Redis, and survives a Redis outage.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta

from sqlalchemy import case, delete, literal, select
from sqlalchemy.orm import Session

from openwan.config import Settings
from openwan.models import LoginThrottle, utcnow
from openwan.models.base import UTCDateTime

_TABLE = LoginThrottle.__table__


def _subject(kind: str, *parts: str) -> str:
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()
    return f"{kind}:{digest[:60]}"


def subjects(username: str, ip: str | None) -> tuple[str, str]:
    """The (account, address) key and the address key."""
    address = ip or "-"
    return _subject("p", username.lower(), address), _subject("a", address)


def _backoff(failures: int, free: int, base: int, window: int) -> float:
    if failures < free:
        return 0.0
    return float(min(base * 2 ** min(failures - free, 30), window))


def wait_seconds(session: Session, settings: Settings, username: str, ip: str | None,
                 now: datetime | None = None) -> int:
    """Seconds this (account, address) must wait before its next attempt; 0: go ahead."""
    limits = settings.auth
    now = now or utcnow()
    pair, address = subjects(username, ip)
    rows = session.execute(select(LoginThrottle.subject, LoginThrottle.failures,
                                  LoginThrottle.first_at, LoginThrottle.last_at)
                           .where(LoginThrottle.subject.in_((pair, address)))).all()
    window = limits.login_window_seconds
    wait = 0.0
    for subject, failures, first_at, last_at in rows:
        if now - first_at >= timedelta(seconds=window):
            continue  # an old window: it starts afresh with the next failure
        free = limits.login_max_failures if subject == pair else limits.login_ip_max_failures
        delay = _backoff(failures, free, limits.login_backoff_seconds, window)
        # Waits end with the window at the latest: the row no longer counts then.
        until = min(last_at + timedelta(seconds=delay), first_at + timedelta(seconds=window))
        wait = max(wait, (until - now).total_seconds())
    return max(0, math.ceil(wait))


def record_failure(session: Session, settings: Settings, username: str, ip: str | None,
                   now: datetime | None = None) -> None:
    """Count a failed attempt for its pair and its address (flushed with the session)."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=settings.auth.login_window_seconds)
    for subject in subjects(username, ip):
        session.execute(_upsert(session, subject, now, cutoff))


def record_success(session: Session, username: str, ip: str | None) -> None:
    pair, _ = subjects(username, ip)
    session.execute(delete(LoginThrottle).where(LoginThrottle.subject == pair))


def purge(session: Session, settings: Settings, now: datetime | None = None) -> int:
    """Drop rows whose window is over (upkeep)."""
    cutoff = (now or utcnow()) - timedelta(seconds=settings.auth.login_window_seconds)
    result = session.execute(delete(LoginThrottle).where(LoginThrottle.last_at < cutoff))
    return result.rowcount or 0


def _upsert(session: Session, subject: str, now: datetime, cutoff: datetime):
    """INSERT the first failure, or add one to the row (a new window when its is over), in
    one statement, so concurrent failures in several processes are all counted."""
    c = _TABLE.c
    at = literal(now, UTCDateTime())
    expired = c.first_at < literal(cutoff, UTCDateTime())
    failures = case((expired, 1), else_=c.failures + 1)
    first_at = case((expired, at), else_=c.first_at)
    values = {"subject": subject, "failures": 1, "first_at": now, "last_at": now}
    dialect = session.get_bind().dialect.name
    if dialect == "mysql":
        from sqlalchemy.dialects.mysql import insert as mysql_insert

        # MySQL applies the assignments in order, each seeing the ones before: ``failures``
        # must read the old ``first_at``.
        return mysql_insert(_TABLE).values(values).on_duplicate_key_update(
            [("failures", failures), ("first_at", first_at), ("last_at", at)])
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    return insert(_TABLE).values(values).on_conflict_do_update(
        index_elements=[c.subject],
        set_={"failures": failures, "first_at": first_at, "last_at": at})
