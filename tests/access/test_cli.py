"""``openwan user create … --group`` and the first administrator."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from openwan.access import rules
from openwan.access.service import find_user
from openwan.db import unit_of_work
from tests.access.world import add_group

ROOT = Path(__file__).resolve().parents[2]


def _cli(settings, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENWAN_DATA_DIR": str(settings.data_dir),
           "OPENWAN_DATABASE_URL": settings.database_url, "OPENWAN_ENV": "development"}
    return subprocess.run([sys.executable, "-m", "openwan", *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_user_create_with_groups(settings):
    with unit_of_work(settings) as session:
        add_group(session, "编辑部", ["EDITOR"], "all")
        add_group(session, "reviewers", ["REVIEWER"], "all")
    done = _cli(settings, "user", "create", "wang", "--group", "编辑部", "--group", "reviewers",
                "--level", "3", "--password-stdin", stdin="Quiet-Secret-Words-1\n")
    assert done.returncode == 0, done.stderr
    with unit_of_work(settings) as session:
        user = find_user(session, "wang")
        assert sorted(g.name for g in user.groups) == ["reviewers", "编辑部"]
        access = rules.access_of(user)
        assert {"asset.upload", "asset.review"} <= access.permissions and user.level == 3
    missing = _cli(settings, "user", "create", "li", "--group", "nope", "--password-stdin",
                   stdin="Other-Secret-Words-22\n")
    assert missing.returncode != 0 and "nope" in missing.stderr
    with unit_of_work(settings) as session:
        assert find_user(session, "li") is None  # nothing half-made


def test_first_administrator_joins_the_administrators_group(settings, monkeypatch):
    from openwan import cli

    monkeypatch.setattr(settings.auth, "admin_password", None)
    cli._ensure_admin(settings)
    with unit_of_work(settings) as session:
        admin = find_user(session, "admin")
        assert [g.name for g in admin.groups] == ["administrators"]
        assert rules.access_of(admin).is_admin and "ADMIN" in rules.access_of(admin).roles
    cli._ensure_admin(settings)  # idempotent
