"""The recycle bin: assets deleted longer ago than the retention are purged, rows and files."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from openwan.catalog.purge import purge_deleted
from openwan.db import unit_of_work
from openwan.models import Asset, CatalogValue, Rendition, SearchDocument, utcnow
from openwan.storage import get_storage
from tests.conftest import all_backends, stray_files
from tests.search.helpers import make_asset

ROOT = Path(__file__).resolve().parents[2]


def _stored_asset(settings, title, *, status, age_days):
    asset_id = make_asset(settings, title, status=status, catalog={"主题": {"主题词": "旧片"}})
    with unit_of_work(settings) as session:
        asset = session.get(Asset, asset_id)
        storage = get_storage(settings)
        storage.put_bytes(asset.storage_key, b"original bytes")
        poster = f"thumbnails/{asset_id}/poster.jpg"
        storage.put_bytes(poster, b"jpeg")
        session.add(Rendition(asset_id=asset_id, name="poster", kind="poster", format="jpeg",
                              content_type="image/jpeg", storage_key=poster, size=4))
        asset.updated_at = utcnow() - timedelta(days=age_days)
        key = asset.storage_key
    return asset_id, key


def _count(settings, model, asset_id):
    with unit_of_work(settings) as session:
        return session.scalar(select(func.count()).select_from(model)
                              .where(model.asset_id == asset_id))


@all_backends
def test_purge_removes_old_deleted_assets_with_their_files(settings):
    storage = get_storage(settings)
    old, old_key = _stored_asset(settings, "old deleted", status="deleted", age_days=40)
    recent, recent_key = _stored_asset(settings, "recent deleted", status="deleted", age_days=3)
    kept, kept_key = _stored_asset(settings, "old published", status="published", age_days=400)

    assert purge_deleted(settings, dry_run=True) == [old]
    assert storage.exists(old_key)
    assert purge_deleted(settings) == [old]
    with unit_of_work(settings) as session:
        assert session.get(Asset, old) is None
        assert session.get(Asset, recent) is not None and session.get(Asset, kept) is not None
    assert not storage.exists(old_key)
    assert not storage.exists(f"thumbnails/{old}/poster.jpg")
    assert storage.exists(recent_key) and storage.exists(kept_key)
    assert storage.exists(f"thumbnails/{recent}/poster.jpg")
    assert _count(settings, SearchDocument, old) == 0
    assert _count(settings, CatalogValue, old) == 0
    assert _count(settings, Rendition, old) == 0
    assert not [f for f in stray_files(settings) if not f.startswith("thumbnails/")]
    assert purge_deleted(settings) == []  # idempotent


def test_purge_command(settings):
    asset_id, key = _stored_asset(settings, "bin", status="deleted", age_days=10)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENWAN_", "DB_", "JWT"))}
    env.update(PYTHONPATH=str(ROOT), OPENWAN_DATA_DIR=str(settings.data_dir),
               OPENWAN_DATABASE_URL=settings.database_url)

    def run(*args):
        return subprocess.run([sys.executable, "-m", "openwan", *args], env=env, text=True,
                              capture_output=True, timeout=60)

    kept = run("purge")  # default retention 30 days
    assert kept.returncode == 0, kept.stderr
    assert "purged 0 assets" in kept.stdout
    done = run("purge", "--days", "7")
    assert done.returncode == 0 and f"purged 1 assets: {asset_id}" in done.stdout
    assert not get_storage(settings).exists(key)
    reindexed = run("reindex")
    assert reindexed.returncode == 0 and "reindexed 0 assets" in reindexed.stdout
