"""The files stage of a legacy import: each ``ow_files`` row's original found under
``--files`` (``data<N>\\dir\\md5.ext``, whatever the case), MD5-checked, copied under our
keys (sniffed, SHA-256 hashed) a few at a time, then the rows, their history, search
documents and media jobs written a batch per transaction."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from openwan.assets.ingest import BLOCK, classify, read_head
from openwan.kit.errors import APIError
from openwan.kit.filenames import clean_filename
from openwan.legacy import mapping
from openwan.models import (
    Asset,
    AssetStatus,
    AuditEntry,
    FieldKind,
    LegacyId,
    MediaState,
    utcnow,
)
from openwan.storage import original_key

log = logging.getLogger("openwan.legacy")

TEXT_MAX = 1000  # longer values make the field ``longtext`` (see ``catalog.fields``)
CHUNK = 4 * BLOCK


class FileIndex:
    """The files under the legacy data root, found by their ``data1\\dir\\md5.ext`` path
    whatever the case of its parts, and whether the copy kept ``\\`` as separators in
    names (archives unpacked from Windows) or made folders of them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._paths: dict[str, Path] | None = None

    def _build(self) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for folder, _dirs, names in os.walk(self.root):
            rel = os.path.relpath(folder, self.root)
            prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
            for name in names:
                key = (prefix + name).replace("\\", "/").lower()
                found.setdefault(key, Path(folder) / name)
        return found

    def find(self, relpath: str) -> Path | None:
        if self._paths is None:
            self._paths = self._build()
        return self._paths.get(relpath)


@dataclass
class Stored:
    state: str  # ok | missing | mismatch | refused | unread
    message: str = ""
    key: str | None = None
    size: int = 0
    sha256: str = ""
    kind: str | None = None
    mime: str | None = None
    extension: str | None = None


class FileStage:
    """The ``ow_files`` stage of :class:`~openwan.legacy.importer.Importer` (a mixin: it
    works on the importer's session, report and id records)."""

    _uncommitted: set[str]
    _lock: threading.Lock

    def files_(self) -> None:
        table = "ow_files"
        known = self._known("file")
        rows = sorted(self._rows(table), key=lambda r: int(r["id"]))
        self._keys = self._catalog_keys()
        self._categories = {int(r["id"]): r for r in self.tables.get("ow_category") or []}
        pending: list[dict[str, Any]] = []
        retry: list[tuple[dict[str, Any], LegacyId]] = []
        for row in rows:
            record = known.get(str(row["id"]))
            if record is None:
                pending.append(row)
            elif self.files is not None and record.detail.get("file") in (
                    "missing", "mismatch", "unread") and record.new_id is not None:
                retry.append((row, record))
            else:
                self.report.count(table, "already")
        if self.files is None and pending:
            self.report.note(table, "*", f"no --files folder given: {len(pending)} rows "
                             "imported without their bytes (a later run with --files adds "
                             "them)")
        if self.files is not None:
            self.files.find("")  # index the folder once, before the copying threads
        done = 0
        # Copying (read, hash, write, fsync) releases the GIL: a few files at once keep the
        # disk busy while rows are written; the rows themselves go in one by one, in order.
        # Messages of committed jobs go out on their own thread while the next batch copies.
        with ThreadPoolExecutor(max_workers=self.workers) as pool, \
                ThreadPoolExecutor(max_workers=1) as sender:
            self._sender, self._sends = sender, []
            chunks = [pending[i:i + self.batch] for i in range(0, len(pending), self.batch)]
            # The next batch copies while this one's rows are written (one batch ahead).
            copying = self._copy(pool, [self._where(row) for row in chunks[0]]) if chunks else []
            for n, chunk in enumerate(chunks):
                stored = self._copied(copying)
                if n + 1 < len(chunks):
                    copying = self._copy(pool, [self._where(row) for row in chunks[n + 1]])
                created = [self._file(row, s) for row, s in zip(chunk, stored, strict=True)]
                self._write_batch()
                self._finish_batch([a for a in created if a is not None], stored)
                done += len(chunk)
                if self.progress is not None:
                    self.progress("files", done)
            for start in range(0, len(retry), self.batch):
                chunk2 = retry[start:start + self.batch]
                stored = self._copied(self._copy(pool, [
                    self._where(row, record.detail.get("path")) for row, record in chunk2]))
                fixed = [self._refile(row, record, s)
                         for (row, record), s in zip(chunk2, stored, strict=True)]
                self._finish_batch([a for a in fixed if a is not None], stored)
        for future in self._sends:
            if future.exception() is not None:
                log.error("media jobs of a batch not sent (%s); the media reconciler will "
                          "send them", future.exception())

    @staticmethod
    def _where(row: dict[str, Any], relpath: str | None = None) -> tuple[str, str, str]:
        ext = str(row.get("ext") or "").strip()
        return (relpath or mapping.file_relpath(row.get("path"), row.get("name"), ext),
                clean_filename(mapping.display_filename(str(row.get("title") or ""), ext)
                               .replace("/", "_").replace("\\", "_")),
                str(row.get("name") or ""))

    def _copy(self, pool: ThreadPoolExecutor,
              wanted: list[tuple[str, str, str]]) -> list[Future[Stored]]:
        return [pool.submit(self._store, *w) for w in wanted]

    def _copied(self, futures: list[Future[Stored]]) -> list[Stored]:
        stored = [f.result() for f in futures]
        self.report.bytes_copied += sum(item.size for item in stored if item.state == "ok")
        return stored

    def _finish_batch(self, assets: list[Asset], stored: list[Stored]) -> None:
        from openwan.search.index import reindex

        ids = [a.id for a in assets]
        queued = [a.id for a in assets if a.media_state == MediaState.queued]
        if ids:
            reindex(self.session, ids)
        bodies = []
        if queued and not self.dry_run:
            from datetime import timedelta

            from openwan.media.service import PROCESS
            from openwan.models import Job, JobState

            # As ``media.service.new_job`` makes them, in one flush for the batch.
            deadline = utcnow() + timedelta(seconds=self.settings.queue.stale_seconds)
            jobs = [Job(name=PROCESS, payload={"asset_id": asset_id}, asset_id=asset_id,
                        state=JobState.queued, attempts=0, progress=0.0, deadline=deadline)
                    for asset_id in queued]
            self.session.add_all(jobs)
            self.session.flush()
            bodies = [(job.id, {"name": job.name, "job_id": job.id, **job.payload})
                      for job in jobs]
        self._checkpoint()
        with self._lock:
            self._uncommitted -= {s.key for s in stored if s.key is not None}
        if bodies:
            self._sends.append(self._sender.submit(self._send, bodies))

    def _send(self, bodies: list[tuple[int, dict[str, Any]]]) -> None:
        """Send the committed jobs' messages (as ``media.service.send`` does, with one
        transaction for the batch); those not sent are sent by the media reconciler."""
        from sqlalchemy import update

        from openwan.db import unit_of_work
        from openwan.models import Job, JobState
        from openwan.queue import QueueError, get_queue

        queue = get_queue(self.settings)
        sent: dict[int, str] = {}
        for job_id, body in bodies:
            try:
                sent[job_id] = queue.send(body)
            except QueueError as exc:
                log.error("jobs not sent (%s); the media reconciler will send them", exc)
                break
            except Exception:  # on the sender thread: nobody else would see it
                log.exception("jobs not sent; the media reconciler will send them")
                break
        with unit_of_work(self.settings) as session:
            for job_id, message_id in sent.items():
                session.execute(update(Job).where(Job.id == job_id,
                                                  Job.state == JobState.queued)
                                .values(message_id=message_id))

    def _file(self, row: dict[str, Any], stored: Stored) -> Asset | None:
        table = "ow_files"
        legacy_id = row["id"]
        legacy_type = mapping.TYPES.get(int(row.get("type") or 0))
        status = mapping.STATUSES.get(int(row.get("status") or 0))
        if legacy_type is None or status is None:
            self._record("file", legacy_id, None, skipped="unknown type or status")
            self.report.skip(table, legacy_id, f"unknown type {row.get('type')} or status "
                             f"{row.get('status')}")
            return None
        ext = str(row.get("ext") or "").strip()
        relpath, filename, _md5 = self._where(row)
        self.report.files[stored.state] += 1
        if stored.state not in ("ok", "unread"):
            self.report.note(table, legacy_id, f"file {relpath}: {stored.message}")
        elif stored.state == "ok" and stored.kind != legacy_type:
            self.report.note(table, legacy_id, f"stored as {stored.kind} (its content), "
                             f"legacy type was {legacy_type}")
        kind = stored.kind or legacy_type
        category_id = self._file_category(row)
        level = self._clearance(row.get("level"))
        if level is None:
            level = max([r.new_id for r in self._known("level").values() if r.new_id]
                        or [5])
            self.report.note(table, legacy_id, f"level {row.get('level')} does not exist: "
                             f"given the highest, {level}")
        groups = self._file_groups(row)
        uploaded = mapping.timestamp(row.get("upload_at")) or utcnow()
        catalogued = mapping.timestamp(row.get("catalog_at"))
        published = mapping.timestamp(row.get("putout_at"))
        uploader = self._user_by_name(row.get("upload_username"))
        publisher = self._user_by_name(row.get("putout_username"))
        cataloguer = self._user_by_name(row.get("catalog_username"))
        for role, name, found in (("uploader", row.get("upload_username"), uploader),
                                  ("publisher", row.get("putout_username"), publisher)):
            if name and found is None:
                self.report.note(table, legacy_id, f"{role} {name!r} is not an imported user")
        asset = Asset(
            type=kind, title=(str(row.get("title") or "").strip() or filename)[:512],
            filename=filename[:255], extension=(stored.extension or ext.lower())[:16],
            size=stored.size if stored.state == "ok" else int(row.get("size") or 0),
            sha256=stored.sha256, mime_type=stored.mime or "application/octet-stream",
            storage_key=stored.key or f"original/{kind}/legacy-missing/{legacy_id}",
            status=status, level=level, download=bool(row.get("is_download", 1)),
            category_id=category_id, catalog=self._file_catalog(row, legacy_type),
            technical={}, uploaded_by=uploader, created_at=uploaded,
            # The recycle bin's retention runs from the last change: for deleted files, from
            # the import (else the next purge would empty the imported bin at once).
            updated_at=utcnow() if status == AssetStatus.deleted else max(
                t for t in (uploaded, catalogued, published) if t is not None),
            published_at=published, published_by=publisher,
            media_state=MediaState.queued if stored.state == "ok" else MediaState.failed,
            media_error=None if stored.state == "ok" else (
                f"original not imported: {stored.message}")[:1000])
        asset.groups = "all" if groups is None else groups
        self.session.add(asset)
        history = [(action, at, actor_id, str(actor)[:64] if actor else None)
                   for action, at, actor_id, actor in (
                       ("asset.upload", uploaded, uploader, row.get("upload_username")),
                       ("asset.catalog", catalogued, cataloguer, row.get("catalog_username")),
                       ("asset.approve", published, publisher, row.get("putout_username")))
                   if at is not None and (action == "asset.upload" or actor)]
        detail = {"file": stored.state, "path": relpath,
                  "category_name": row.get("category_name"), "legacy_type": legacy_type,
                  "legacy_size": row.get("size"), "md5": row.get("name")}
        self._written.append((asset, legacy_id, history,
                              {k: v for k, v in detail.items() if v not in (None, "")}))
        self.report.count(table, "imported")
        return asset

    def _write_batch(self) -> None:
        """The batch's assets in one flush, then their history and id records in bulk."""

        self.session.flush()
        audits, records = [], []
        for asset, legacy_id, history, detail in self._written:
            audits.extend({"at": at, "actor_id": actor_id, "actor": actor, "ip": None,
                           "action": action, "target_type": "asset",
                           "target_id": str(asset.id), "success": True,
                           "detail": {"legacy_file": legacy_id, "via": "legacy import"}}
                          for action, at, actor_id, actor in history)
            records.append({"kind": "file", "legacy_id": str(legacy_id), "new_id": asset.id,
                            "detail": detail})
        self._written = []
        if audits:
            self.session.connection().execute(insert(AuditEntry.__table__), audits)
        if records:
            self.session.connection().execute(insert(LegacyId.__table__), records)

    def _refile(self, row: dict[str, Any], record: LegacyId, stored: Stored) -> Asset | None:
        """A file row imported without its bytes: store them if they are here now."""
        asset = self.session.get(Asset, record.new_id)
        relpath = self._where(row, record.detail.get("path"))[0]
        if asset is None:
            if stored.key is not None:
                self.storage.delete(stored.key)
                with self._lock:
                    self._uncommitted.discard(stored.key)
            self.report.count("ow_files", "already")
            return None
        if stored.state != "ok":
            self.report.count("ow_files", "already")
            self.report.files[stored.state] += 1
            return None
        self.report.files["ok"] += 1
        asset.type, asset.size = stored.kind, stored.size
        asset.storage_key = stored.key or asset.storage_key
        asset.sha256, asset.mime_type = stored.sha256, stored.mime
        asset.extension = stored.extension or asset.extension
        asset.media_state, asset.media_error = MediaState.queued, None
        record.detail = {**record.detail, "file": "ok"}
        self.report.count("ow_files", "merged")
        self.report.note("ow_files", row["id"], f"file {relpath} found: stored")
        return asset

    def _file_category(self, row: dict[str, Any]) -> int | None:
        table, legacy_id = "ow_files", row["id"]
        category = int(row.get("category_id") or 0)
        record = self._known("category").get(str(category))
        legacy = self._categories.get(category)
        if record is None:
            self.report.note(table, legacy_id, f"category {category} does not exist: "
                             "no category")
            return None
        stale = str(row.get("category_name") or "").strip()
        if legacy is not None and stale and stale != str(legacy["name"]).strip():
            self.report.note(table, legacy_id, f"category_name {stale!r} is stale: filed "
                             f"under category {category} {legacy['name']!r} (by id)")
        if record.detail.get("root"):
            self.report.note(table, legacy_id, "filed under the root category: no category")
        return record.new_id

    def _file_groups(self, row: dict[str, Any]) -> list[int] | None:
        wanted = mapping.id_list(row.get("groups"))
        if wanted is None:
            return None
        found = [self._new_id("group", g) for g in wanted]
        missing = [g for g, f in zip(wanted, found, strict=True) if f is None]
        if missing:
            self.report.note("ow_files", row["id"], f"allowed groups {missing} do not exist")
        return sorted({f for f in found if f is not None})

    def _file_catalog(self, row: dict[str, Any], media_type: str) -> dict[str, dict[str, Any]]:
        info = mapping.catalog_info(row.get("catalog_info"))
        groups = self._keys.get(media_type, {})
        out: dict[str, dict[str, Any]] = {}
        dropped = []
        for group_name, fields in info.items():
            group = groups.get(group_name.strip())
            for field_name, text in fields.items():
                text = text.strip()
                if not text:
                    continue
                field = group[1].get(field_name.strip()) if group is not None else None
                value = mapping.field_value(field.kind, field.choices, text) if field else None
                if field is None or value is None:
                    dropped.append(f"{group_name}/{field_name}" + (
                        f" ({text!r} is not a {field.kind})" if field is not None else ""))
                    continue
                out.setdefault(group[0], {})[field.key] = value
                if field.kind == FieldKind.text and len(text) > TEXT_MAX:
                    field.kind = FieldKind.longtext  # a safe change: every value survives it
        if dropped:
            self.report.note("ow_files", row["id"], f"catalogue values dropped (no such "
                             f"{media_type} field, or not of its kind): {dropped}")
        return out

    def _store(self, relpath: str, filename: str, md5: str) -> Stored:
        """Copy the legacy file into storage (sniffed, SHA-256 and MD5 computed in one read),
        refusing it when its MD5 is not the one the row holds."""
        if self.files is None:
            return Stored("unread", "no --files folder given")
        path = self.files.find(relpath)
        if path is None:
            return Stored("missing", f"not found under {self.files.root}")
        try:
            sniffed = classify(read_head(path), filename)
        except APIError as exc:
            return Stored("refused", exc.message)
        except OSError as exc:
            return Stored("missing", f"cannot read: {exc}")
        digest = hashlib.md5(usedforsecurity=False)
        sha = hashlib.sha256()
        key = original_key(sniffed.kind, sniffed.extension)
        writer = None if self.dry_run else self.storage.open_writer(key, sniffed.mime,
                                                                    hasher=sha)
        size = 0
        try:
            with open(path, "rb") as f:
                while chunk := f.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    if writer is not None:
                        writer.write(chunk)
                    else:
                        sha.update(chunk)
            if writer is not None:
                writer.flush()
            if md5 and digest.hexdigest() != md5.strip().lower():
                if writer is not None:
                    writer.abort()
                return Stored("mismatch", f"MD5 {digest.hexdigest()} is not the recorded "
                              f"{md5}")
            if writer is not None:
                writer.commit()
                with self._lock:  # noted at once: if the batch fails, it is removed
                    self._uncommitted.add(key)
        except BaseException:
            if writer is not None:
                writer.abort()
            raise
        return Stored("ok", key=None if writer is None else key, size=size,
                      sha256=sha.hexdigest(), kind=sniffed.kind, mime=sniffed.mime,
                      extension=sniffed.extension)


