"""Group storage quotas, enforced at upload time (the original had the field, never the check)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from openwan.access.rights import quota_used
from openwan.kit.errors import PayloadTooLarge
from openwan.models import Group, User, user_groups


class QuotaExceeded(PayloadTooLarge):
    code = "quota_exceeded"


def check(session: Session, user: User, incoming: int) -> None:
    """Refuse ``incoming`` more bytes when any of the uploader's groups would pass its quota.

    The members' assets outside the recycle bin count; administrators are not exempt (the
    quota belongs to the group, not to the person).
    """
    groups = session.scalars(select(Group).where(
        Group.id.in_(select(user_groups.c.group_id).where(user_groups.c.user_id == user.id)),
        Group.quota_bytes.is_not(None)).order_by(Group.id)).all()
    for group in groups:
        used = quota_used(session, group.id)
        if used + incoming > group.quota_bytes:
            raise QuotaExceeded(
                f"group {group.name!r} would exceed its storage quota "
                f"({used + incoming} of {group.quota_bytes} bytes)",
                group_id=group.id, quota_bytes=group.quota_bytes, used_bytes=used,
                incoming_bytes=incoming)
