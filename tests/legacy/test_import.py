"""``openwan import-legacy`` end to end: the real 2010 dump (as a file and loaded into
MariaDB), and a generated installation with real bytes under Windows-style paths."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import wave
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from openwan.config import set_settings
from openwan.db import unit_of_work
from openwan.legacy.dump import load_into_mysql, read_dump
from openwan.legacy.importer import Importer
from openwan.models import (
    Asset,
    AuditEntry,
    CatalogField,
    Category,
    Group,
    Job,
    LegacyId,
    MediaState,
    User,
)
from openwan.storage import get_storage
from tests.conftest import ADMIN_PASSWORD, MARIADB_ADMIN, _port_open, login, service_missing
from tests.media import jpeg_bytes, png_bytes

DUMP = Path(__file__).parent / "data" / "openwan_db_20100809.sql"
NEW_PASSWORD = "Lantern-Harbour-2026"


def import_legacy(settings, *args: str) -> dict:
    """Run the command as a user would (its settings from the environment); the JSON report."""
    from openwan.cli import main

    report = settings.data_dir / f"report-{uuid.uuid4().hex[:6]}.json"
    env = {"OPENWAN_DATABASE_URL": settings.database_url,
           "OPENWAN_DATA_DIR": str(settings.data_dir), "OPENWAN_ENV": "test",
           "JWT_SECRET": settings.auth.jwt_secret.get_secret_value()}
    try:
        result = CliRunner().invoke(main, ["import-legacy", *args, "--report", str(report)],
                                    env=env, catch_exceptions=False)
    finally:
        set_settings(settings)
    assert result.exit_code == 0, result.output
    assert "legacy import from" in result.output
    return json.loads(report.read_text(encoding="utf-8"))


def snapshot(settings) -> dict:
    """Every row the import writes, to compare two runs."""
    from openwan.models import AssetGroup, CatalogValue, Level, Role, SearchDocument

    out = {}
    with unit_of_work(settings) as session:
        for model in (Asset, AssetGroup, AuditEntry, CatalogField, CatalogValue, Category,
                      Group, Job, LegacyId, Level, Role, SearchDocument, User):
            rows = session.scalars(select(model)).all()
            columns = [c.key for c in model.__mapper__.column_attrs]
            out[model.__tablename__] = sorted(
                repr([getattr(r, c) for c in columns]) for r in rows)
    return out


def category_path(session, category_id: int) -> list[str]:
    category = session.get(Category, category_id)
    ids = [int(i) for i in category.path.strip("/").split("/")]
    return [session.get(Category, i).name for i in ids]


def legacy_asset(session, legacy_id: int) -> Asset:
    record = session.scalar(select(LegacyId).where(LegacyId.kind == "file",
                                                   LegacyId.legacy_id == str(legacy_id)))
    return session.get(Asset, record.new_id)


def check_real_dump(settings, report: dict) -> None:
    assert report["tables"]["ow_files"]["imported"] == 58
    # The legacy admin is the administrator account that exists here already.
    assert report["tables"]["ow_users"]["imported"] == 4
    assert report["tables"]["ow_users"]["merged"] == 1
    assert report["tables"]["ow_category"]["imported"] == 27  # the root is the tree itself
    skipped = {(s["table"], s["id"]) for s in report["skipped"]}
    assert ("ow_permissions", 13) in skipped  # MakeAclFile: no equivalent
    assert ("ow_roles", 4) in skipped  # FREEZE was disabled
    notes = " ".join(n["note"] for n in report["notes"])
    assert "category_name '太太团' is stale" in notes
    assert "stored as" not in notes  # nothing was read without --files
    with unit_of_work(settings) as session:
        assert session.scalar(select(func.count()).select_from(Asset)) == 58
        users = {u.username: u for u in session.scalars(select(User))}
        assert set(users) == {"admin", "yc75", "aaaa", "bbbb", "eeeee"}
        assert users["admin"].password_hash.startswith("$argon2id$")
        yc75 = users["yc75"]
        assert yc75.must_change_password and yc75.password_hash.startswith("$1$")
        assert (yc75.display_name, yc75.level, yc75.login_count) == ("yc", 5, 24)
        assert yc75.last_login_ip == "192.168.1.13" and yc75.last_login_at.year == 2010
        assert [g.name for g in yc75.groups] == ["管理员"]
        assert users["aaaa"].level == 4
        shuo = session.scalar(select(Category).where(Category.name == "说曹操"))
        assert category_path(session, shuo.id) == ["央视教育", "百家讲坛", "三国", "说曹操"]
        assert not session.scalar(select(Category).where(Category.name == "孔子")).enabled
        assert session.scalar(select(Category).where(Category.name == "央视教育")).weight == 22
        assert session.get(Category, shuo.parent_id).weight == 2  # 三国
        admins = session.scalar(select(Group).where(Group.name == "管理员"))
        assert admins.all_categories and [r.name for r in admins.roles] == ["SYSTEM"]
        # The legacy video catalogue is the seeded one (the same standard): joined, not copied.
        title = session.scalar(select(CatalogField).where(
            CatalogField.media_type == "video", CatalogField.key == "题名"))
        assert title.kind == "group"
        assert set(session.scalars(select(CatalogField.key).where(
            CatalogField.media_type == "video", CatalogField.kind == "group"))) == {
            "题名", "主题", "描述"}
        fields = session.scalars(select(CatalogField.key).where(
            CatalogField.parent_id == title.id)).all()
        assert {"正题名", "并列正题名", "分集总数"} <= set(fields)
        # Legacy-only groups and fields are new free-text ones of their media type.
        group = session.scalar(select(CatalogField).where(
            CatalogField.media_type == "document", CatalogField.key == "爱爱爱"))
        assert group.kind == "group" and {(f.key, f.kind) for f in session.scalars(
            select(CatalogField).where(CatalogField.parent_id == group.id))} == {
            ("11", "text"), ("分割", "text"), ("过后", "text")}
        song = legacy_asset(session, 26)
        assert (song.title, song.type, song.status, song.level) == (
            "文根英 - 夜来香", "video", "published", 3)
        assert song.groups == sorted(
            session.scalars(select(Group.id).where(Group.name.in_(
                ["超级管理员", "管理员", "普通用户", "fg", "dsf (21)"]))).all())
        assert song.published_at.year == 2010 and song.published_by == users["admin"].id
        assert song.media_state == MediaState.failed  # no --files: marked, not lost
        lyrics = legacy_asset(session, 64)
        assert lyrics.catalog == {"爱爱爱": {"11": "原因有隐隐约约原因有", "分割": "周杰"},
                                  "fgfdg": {"ddd": "光芒"}}
        assert legacy_asset(session, 17).download is False
        assert legacy_asset(session, 15).status == "pending"
        history = session.scalars(select(AuditEntry.action).where(
            AuditEntry.target_id == str(song.id))).all()
        assert sorted(history) == ["asset.approve", "asset.catalog", "asset.upload"]


def test_the_real_dump_through_sql_dump(settings, client, admin):
    report = import_legacy(settings, "--sql-dump", str(DUMP))
    check_real_dump(settings, report)
    before = snapshot(settings)

    again = import_legacy(settings, "--sql-dump", str(DUMP))
    assert again["changed"] == 0 and again["tables"]["ow_files"]["already"] == 58
    assert snapshot(settings) == before

    # The old MD5-crypt password works once; the account must then choose a new one.
    answer = client.post("/api/v1/auth/login", json={"username": "yc75", "password": "yc75"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["password_change_required"] is True
    headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    refused = client.get("/api/v1/search", params={"q": "夜来香"}, headers=headers)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "password_change_required"
    with unit_of_work(settings) as session:
        user = session.scalar(select(User).where(User.username == "yc75"))
        assert user.password_hash.startswith("$argon2id$")  # re-hashed at sign-in
    changed = client.post("/api/v1/me/password", headers=headers, json={
        "current_password": "yc75", "new_password": NEW_PASSWORD})
    assert changed.status_code == 200, changed.text
    assert not changed.json().get("password_change_required")
    headers = login(client, "yc75", NEW_PASSWORD)
    found = client.get("/api/v1/search", params={"q": "夜来香"}, headers=headers)
    assert found.status_code == 200, found.text
    assert [i["title"] for i in found.json()["items"]] == ["文根英 - 夜来香"]
    bad = client.post("/api/v1/auth/login", json={"username": "yc75", "password": "yc75"})
    assert bad.status_code == 401


@pytest.fixture
def legacy_mysql() -> str:
    """The real dump loaded into a fresh MariaDB database, as the 2010 installation ran."""
    import pymysql

    if not _port_open("127.0.0.1", 3306):
        service_missing("MariaDB", "127.0.0.1:3306 closed")
    name = f"openwan_legacy_{uuid.uuid4().hex[:8]}"
    root = pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True)
    with root.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name} CHARACTER SET utf8")
    url = MARIADB_ADMIN.rsplit("/", 1)[0].replace("+pymysql", "") + f"/{name}"
    try:
        load_into_mysql(DUMP, url)
        yield url
    finally:
        with root.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        root.close()


@pytest.mark.services
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_the_real_dump_from_mariadb_into_postgresql(settings, admin, legacy_mysql):
    report = import_legacy(settings, "--mysql-url", legacy_mysql)
    check_real_dump(settings, report)
    again = import_legacy(settings, "--mysql-url", legacy_mysql)
    assert again["changed"] == 0


# A generated installation ------------------------------------------------------------------

def wav_bytes(seconds: float = 0.2) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x01" * int(8000 * seconds))
    return out.getvalue()


def sql(value) -> str:
    """A value as SQLyog writes it (backslash escapes, quotes escaped too)."""
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'").replace('"', '\\"') + "'"


COLUMNS = ("id", "category_id", "category_name", "type", "title", "name", "ext", "size", "path",
           "status", "level", "groups", "is_download", "catalog_info", "upload_username",
           "upload_at", "catalog_username", "catalog_at", "putout_username", "putout_at")


def make_installation(root: Path) -> tuple[Path, dict[int, bytes]]:
    """Files first (``data<N>/<dir>/<md5>.<ext>`` as copied off a Windows server, some with
    their case changed, one with the backslashes kept in its name), then the rows naming
    them, then a dump of the real database with these rows as its files."""
    lyrics = "[00:01]说曹操 曹操就到\n[00:05]煮酒论英雄\n".encode()
    made = {  # legacy id: (bytes, type, row ext, disk path template or None, category)
        101: (png_bytes(40, 30), 3, "PNG", "data1/{dir}/{md5}.png", 84),
        102: (jpeg_bytes(50, 40), 3, "Jpg", "data2/{DIR}/{md5}.JPG", 6),
        103: (lyrics, 4, "lrc", "data1/{dir}/{md5}.lrc", 84),
        104: (wav_bytes(), 2, "wav", "data1\\{dir}\\{md5}.wav", 9),
        105: (b"a missing text file\n", 4, "txt", None, 9),
        106: (b"these bytes are not the recorded ones\n", 1, "txt", "data1/{dir}/{md5}.txt", 9),
    }
    rows, contents = [], {}
    for legacy_id, (data, kind, ext, disk, category) in made.items():
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        folder = hashlib.md5(f"{legacy_id}".encode(), usedforsecurity=False).hexdigest()
        if disk is not None:
            target = root / disk.format(dir=folder, DIR=folder.upper(), md5=md5)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data if legacy_id != 106 else data + b"changed")
        contents[legacy_id] = data
        catalog = {103: '{"爱爱爱":{"11":"","分割":"曹操 煮酒论英雄"},"fgfdg":{"ddd":"三国"}}',
                   106: '{"题名":{"正题名":"三国演义","分集总数":"84","分集次":"第一集"}}'
                   }.get(legacy_id, "")
        rows.append((legacy_id, category, "stale name", kind, f"曹操 {legacy_id}", md5, ext,
                     len(data), f"data{2 if legacy_id == 102 else 1}\\{folder}\\",
                     4 if legacy_id == 104 else 2, 1,
                     "all", 1, catalog, "yc75", 1281086735, "admin", 1281086761, "admin",
                     1281086770))
    real = DUMP.read_bytes().decode("utf-8")
    kept = "\r\n".join(line for line in real.split("\r\n")
                       if not line.startswith("insert  into `ow_files`"))
    values = ",".join("(" + ",".join(sql(v) for v in row) + ")" for row in rows)
    dump = root.parent / "generated.sql"
    dump.write_bytes((kept + "\r\ninsert  into `ow_files`(" + ",".join(f"`{c}`" for c in COLUMNS)
                     + ") values " + values + ";\r\n").encode())
    return dump, contents


class Interrupted(Exception):
    pass


def test_a_generated_installation_with_its_files(settings, client, admin):
    root = settings.data_dir.parent / "legacy"
    dump, contents = make_installation(root)
    tables = read_dump(dump)

    def stop(stage: str, done: int) -> None:
        raise Interrupted(f"stopped after {done} {stage}")

    # Interrupted after the first batch of files: that batch is in, nothing else.
    with pytest.raises(Interrupted):
        Importer(settings, tables, files=root, batch=2, progress=stop).run()
    with unit_of_work(settings) as session:
        assert session.scalar(select(func.count()).select_from(Asset)) == 2

    report = import_legacy(settings, "--sql-dump", str(dump), "--files", str(root))
    assert report["tables"]["ow_files"] == {"read": 6, "imported": 4, "already": 2,
                                            "merged": 0, "skipped": 0}
    assert report["files"] == {"ok": 2, "missing": 1, "mismatch": 1}
    notes = " ".join(n["note"] for n in report["notes"])
    assert "not found under" in notes and "is not the recorded" in notes
    assert "category_name 'stale name' is stale" in notes
    assert "题名/分集次 ('第一集' is not a number)" in notes

    storage = get_storage(settings)
    with unit_of_work(settings) as session:
        assert session.scalar(select(func.count()).select_from(Asset)) == 6
        kinds = {}
        for legacy_id in (101, 102, 103, 104):
            asset = legacy_asset(session, legacy_id)
            with storage.open(asset.storage_key) as f:
                assert f.read() == contents[legacy_id]
            assert asset.sha256 == hashlib.sha256(contents[legacy_id]).hexdigest()
            assert asset.storage_key.startswith(f"original/{asset.type}/")
            assert asset.media_state == MediaState.queued
            kinds[legacy_id] = (asset.type, asset.extension, asset.filename)
        assert kinds[101] == ("image", "png", "曹操 101.png")
        assert kinds[102] == ("image", "jpg", "曹操 102.jpg")
        assert kinds[103][0] == "document" and kinds[104][0] == "audio"
        # In the recycle bin, kept for the retention period counted from the import.
        assert legacy_asset(session, 104).status == "deleted"
        queued = set(session.scalars(select(Job.asset_id)).all())
        assert queued == {legacy_asset(session, i).id for i in (101, 102, 103, 104)}
        for legacy_id in (105, 106):
            asset = legacy_asset(session, legacy_id)
            assert asset.media_state == MediaState.failed
            assert asset.media_error.startswith("original not imported")
            assert not asset.sha256
        # Values of the seeded typed fields: converted, or dropped (and reported).
        assert legacy_asset(session, 106).catalog == {"题名": {"正题名": "三国演义",
                                                               "分集总数": 84}}
        lyrics = legacy_asset(session, 103)
        assert lyrics.catalog == {"爱爱爱": {"分割": "曹操 煮酒论英雄"}, "fgfdg": {"ddd": "三国"}}
        assert category_path(session, lyrics.category_id)[-1] == "说曹操"
        assert lyrics.uploaded_by == session.scalar(select(User.id).where(
            User.username == "yc75"))
    stored = sorted(storage.list("original/"))
    assert len(stored) == 4
    from openwan.catalog.purge import purge_deleted

    assert purge_deleted(settings) == []

    # Searchable at once, by title, catalogue value and category name.
    headers = login(client, "admin", ADMIN_PASSWORD)
    found = client.get("/api/v1/search", params={"q": "煮酒论英雄"}, headers=headers).json()
    assert [i["title"] for i in found["items"]] == ["曹操 103"]
    found = client.get("/api/v1/search", params={"q": "曹操", "size": 50}, headers=headers)
    assert {i["title"] for i in found.json()["items"]} >= {"曹操 101", "曹操 103"}

    before = snapshot(settings)
    again = import_legacy(settings, "--sql-dump", str(dump), "--files", str(root))
    assert again["changed"] == 0
    assert snapshot(settings) == before and sorted(storage.list("original/")) == stored

    # The missing file turns up: the next run gives the row its bytes.
    md5 = hashlib.md5(contents[105], usedforsecurity=False).hexdigest()
    folder = hashlib.md5(b"105", usedforsecurity=False).hexdigest()
    (root / "data1" / folder).mkdir(parents=True)
    (root / "data1" / folder / f"{md5}.txt").write_bytes(contents[105])
    later = import_legacy(settings, "--sql-dump", str(dump), "--files", str(root))
    assert later["tables"]["ow_files"]["merged"] == 1
    with unit_of_work(settings) as session:
        asset = legacy_asset(session, 105)
        assert asset.media_state == MediaState.queued
        assert asset.sha256 == hashlib.sha256(contents[105]).hexdigest()


def test_a_dry_run_writes_nothing_and_a_failed_batch_leaves_no_files(settings, monkeypatch):
    from openwan.cli import main

    # Only a dry run goes without an administrator to attribute the legacy admin's work to.
    refused = CliRunner().invoke(main, ["import-legacy", "--sql-dump", str(DUMP)], env={
        "OPENWAN_DATABASE_URL": settings.database_url, "OPENWAN_ENV": "test",
        "OPENWAN_DATA_DIR": str(settings.data_dir),
        "JWT_SECRET": settings.auth.jwt_secret.get_secret_value()})
    set_settings(settings)
    assert refused.exit_code != 0 and "no administrator yet" in refused.output
    root = settings.data_dir.parent / "legacy"
    dump, _ = make_installation(root)
    storage = get_storage(settings)
    report = import_legacy(settings, "--sql-dump", str(dump), "--files", str(root),
                           "--dry-run")
    assert report["dry_run"] and report["tables"]["ow_files"]["imported"] == 6
    assert report["files"] == {"ok": 4, "missing": 1, "mismatch": 1}
    with unit_of_work(settings) as session:
        for model in (Asset, User, Category, LegacyId, Job):
            assert session.scalar(select(func.count()).select_from(model)) == 0
    assert list(storage.list("original/")) == []

    # A crash while the third batch's rows are written (the fourth one copying meanwhile):
    # the first two stay, the originals copied for the others are removed again.
    real = Importer._file

    def crash(self, row, stored):
        if row["id"] == 103:
            raise Interrupted("the power went out")
        return real(self, row, stored)

    monkeypatch.setattr(Importer, "_file", crash)
    with pytest.raises(Interrupted):
        Importer(settings, read_dump(dump), files=root, batch=1).run()
    with unit_of_work(settings) as session:
        assert session.scalar(select(func.count()).select_from(User)) == 5
        keys = set(session.scalars(select(Asset.storage_key)).all())
        assert {legacy_asset(session, i).title for i in (101, 102)} == {"曹操 101", "曹操 102"}
    assert len(keys) == 2 and set(storage.list("original/")) == keys


def test_categories_and_groups_already_here_are_joined(settings):
    from openwan.catalog import categories

    with unit_of_work(settings) as session:
        education = categories.create(session, "央视教育").id
        editors = Group(name="管理员", description="made here", all_categories=False)
        session.add(editors)
        session.flush()
        editors_id = editors.id
    report = Importer(settings, read_dump(DUMP)).run()
    assert report.tables["ow_category"]["merged"] == 2  # the root, and 央视教育
    assert report.tables["ow_groups"]["merged"] == 1
    with unit_of_work(settings) as session:
        tops = session.scalars(select(Category.name).where(Category.parent_id.is_(None))).all()
        assert sorted(tops).count("央视教育") == 1
        children = set(session.scalars(select(Category.name).where(
            Category.parent_id == education)))
        assert {"体育教学", "百家讲坛", "走遍中国"} <= children
        shuo = session.scalar(select(Category).where(Category.name == "说曹操"))
        assert category_path(session, shuo.id) == ["央视教育", "百家讲坛", "三国", "说曹操"]
        yc75 = session.scalar(select(User).where(User.username == "yc75"))
        assert [g.id for g in yc75.groups] == [editors_id]
        editors = session.get(Group, editors_id)
        assert editors.roles == [] and not editors.all_categories  # its rights stay its own
        names = set(session.scalars(select(Group.name)))
        assert {"dfg", "dfg (18)", "sdf", "sdf (19)"} <= names
