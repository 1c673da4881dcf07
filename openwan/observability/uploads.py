"""Count new assets as uploads once their transaction commits (multipart, tus, importer).

Listening to the session rather than to each upload path means no path is missed and a
rolled-back upload is never counted.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

from openwan.observability.metrics import record_upload

_KEY = "openwan_new_assets"


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _flush_context) -> None:
    from openwan.models import Asset

    for obj in session.new:
        if isinstance(obj, Asset):
            session.info.setdefault(_KEY, []).append((str(obj.type), int(obj.size or 0)))


@event.listens_for(Session, "after_commit")
def _record(session: Session) -> None:
    for media_type, size in session.info.pop(_KEY, ()):
        record_upload(media_type, size)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_KEY, None)
