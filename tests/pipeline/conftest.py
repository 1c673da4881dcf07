"""Helpers for the media pipeline tests: assets from files generated at test time."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from openwan.config import Settings


@pytest.fixture
def owner(admin):
    return admin


@pytest.fixture(autouse=True)
def _fresh_queues():
    from openwan.queue import reset_queues

    reset_queues()
    yield
    reset_queues()


def add_asset(settings: Settings, owner, path: Path) -> int:
    """Import a file as the owner does with ``openwan ingest`` (enqueues its job)."""
    from openwan.assets.importer import import_file

    outcome = import_file(settings, path, user_id=owner.id)
    assert outcome.status == "imported", outcome
    return outcome.asset_id


def drain(settings: Settings) -> int:
    from openwan.media.worker import Worker

    return Worker(settings, reconcile=False).drain(idle_seconds=0.3)


def asset_row(settings: Settings, asset_id: int):
    from openwan.db import unit_of_work
    from openwan.models import Asset

    with unit_of_work(settings) as session:
        return session.get(Asset, asset_id)


def renditions(settings: Settings, asset_id: int) -> dict:
    from openwan.db import unit_of_work
    from openwan.media.repository import list_for_asset

    with unit_of_work(settings) as session:
        return {r.name: r for r in list_for_asset(session, asset_id)}


def stored(settings: Settings, key: str) -> Path:
    path = settings.data_dir / "storage" / key
    assert path.is_file(), f"{key} is not in storage"
    return path


def ffprobe(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_streams",
                          "-show_format", str(path)], capture_output=True, check=True,
                         timeout=60).stdout
    return json.loads(out)


@pytest.fixture
def configure(make_settings, database_url, tmp_path):
    """Settings with extra environment (short visibility timeouts…), migrated, with an admin;
    returns (settings, env) where env also serves subprocesses."""
    from openwan import migrate
    from openwan.access import service
    from openwan.config import set_settings
    from openwan.db import dispose_engines, unit_of_work

    made = []

    def make(**extra: str):
        env = {"OPENWAN_DATA_DIR": str(tmp_path / "var"), "OPENWAN_ENV": "test",
               "JWT_SECRET": "test-secret-" + "x" * 40,
               "OPENWAN_DATABASE_URL": database_url, **extra}
        settings = make_settings(**env)
        migrate.upgrade(settings.database_url)
        set_settings(settings)
        with unit_of_work(settings) as session:
            from sqlalchemy import select

            from openwan.models import User

            admin = session.scalar(select(User).where(User.username == "admin"))
            if admin is None:
                admin = service.create_user(session, "admin", "Correct-Horse-Battery-9",
                                            is_admin=True, level=5)
        made.append(settings)
        return settings, env, admin

    yield make
    set_settings(None)
    dispose_engines()
