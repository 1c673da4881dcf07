"""What happens after an asset's transaction commits (never before, never from ORM hooks)."""

from __future__ import annotations

from openwan.config import Settings


def asset_created(settings: Settings, asset_id: int) -> None:
    """Called once the new asset's row is committed. The media pipeline enqueues its job here."""
