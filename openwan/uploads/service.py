"""tus uploads: rows and partial files (or, on S3, multipart uploads and tail objects).
Services flush; the edge commits."""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from openwan.access import quota, rules
from openwan.assets import service as assets
from openwan.assets.ingest import Received, classify
from openwan.config import Settings
from openwan.db import unit_of_work
from openwan.kit.errors import APIError, BadRequest, NotFound, Unprocessable
from openwan.kit.filenames import clean_filename
from openwan.models import Asset, Upload, User, utcnow
from openwan.storage import get_storage, original_key
from openwan.storage.local import LocalStorage
from openwan.uploads import sha256

if TYPE_CHECKING:
    from openwan.storage.s3 import S3Storage

TRUE = {"1", "true", "yes", "on"}
CHECKSUMS = {"sha256": hashlib.sha256, "sha1": hashlib.sha1, "md5": hashlib.md5}


class ChecksumMismatch(APIError):
    status, code = 460, "checksum_mismatch"


def staging_bucket(settings: Settings) -> S3Storage | None:
    """The S3 storage that stages tus uploads (any API process can take any PATCH), or None
    when storage is local and uploads wait in partial files under ``uploads_dir``."""
    storage = get_storage(settings)
    if isinstance(storage, LocalStorage):
        return None
    from openwan.storage.s3 import S3Storage  # boto3 only where S3 is used

    return storage if isinstance(storage, S3Storage) else None


def tails_prefix(upload_id: str) -> str:
    return f"uploads/{upload_id}/"


def tail_key(upload_id: str, offset: int) -> str:
    """The bytes past the last S3 part of an upload at ``offset``. The offset in the name lets
    a PATCH write the next tail before the row moves on: the row always names a whole one."""
    return f"{tails_prefix(upload_id)}{offset}.tail"


def part_path(settings: Settings, upload_id: str) -> Path:
    # The id is ours (hex uuid), checked by ``get_for_user`` before any path is built.
    return settings.uploads_dir / f"{upload_id}.part"


def parse_metadata(header: str | None) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64value`` pairs (tus 1.0.0)."""
    result: dict[str, str] = {}
    if not header:
        return result
    if len(header) > 16 * 1024:
        raise BadRequest("Upload-Metadata is too long")
    for item in header.split(","):
        item = item.strip()
        if not item:
            continue
        key, _, value = item.partition(" ")
        if not key or not key.isascii() or " " in key:
            raise BadRequest(f"malformed Upload-Metadata key {key!r}")
        try:
            result[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise BadRequest(f"Upload-Metadata value of {key!r} is not base64 UTF-8") from exc
        if "\x00" in result[key]:
            raise Unprocessable(f"Upload-Metadata value of {key!r} contains a NUL character "
                                "(\\u0000), which no text may hold", field=key)
    return result


def create(session: Session, settings: Settings, user: User, length: int,
           metadata: dict[str, str]) -> Upload:
    category_id = None
    if metadata.get("category_id", "").strip():
        try:
            category_id = int(metadata["category_id"])
        except ValueError as exc:
            raise BadRequest("Upload-Metadata category_id must be an integer") from exc
    assets.check_category_use(session, user, category_id)
    quota.check(session, user, length)
    upload = Upload(
        id=uuid.uuid4().hex, user_id=user.id, length=length, offset=0,
        filename=clean_filename(metadata.get("filename") or metadata.get("name")),
        title=(metadata.get("title") or "").strip()[:512] or None,
        category_id=category_id,
        keep_duplicate=metadata.get("keep_duplicate", "").lower() in TRUE,
        metadata_={k: v[:1024] for k, v in list(metadata.items())[:32]},
        expires_at=utcnow() + timedelta(seconds=settings.upload.tus_expiry_seconds),
    )
    session.add(upload)
    session.flush()
    if staging_bucket(settings) is not None:
        if not sha256.available():
            raise RuntimeError("tus uploads to S3 need OpenSSL's SHA256_Init (libcrypto 3.x)")
        return upload
    path = part_path(settings, upload.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(exist_ok=False)
    return upload


def get_for_user(session: Session, user: User, upload_id: str) -> Upload:
    if len(upload_id) != 32 or not all(c in "0123456789abcdef" for c in upload_id):
        raise NotFound("upload not found")
    upload = session.get(Upload, upload_id)
    if upload is None or (upload.user_id != user.id and not user.is_admin):
        raise NotFound("upload not found")
    if upload.asset_id is None and upload.expires_at <= utcnow():
        raise NotFound("upload has expired")
    return upload


def remove(session: Session, settings: Settings, upload: Upload) -> None:
    bucket = staging_bucket(settings)
    if bucket is not None:
        if upload.mpu_id and upload.storage_key:
            bucket.abort_multipart(upload.storage_key, upload.mpu_id)
        bucket.delete_prefix(tails_prefix(upload.id))
    part_path(settings, upload.id).unlink(missing_ok=True)
    session.delete(upload)
    session.flush()


def admit(session: Session, upload: Upload, sha256: str, ip: str | None) -> User:
    """The checks before a finished upload becomes an asset: not a duplicate (unless the
    upload keeps them), within the uploader's quota. Returns the uploader."""
    user = session.get(User, upload.user_id)
    rules.remember_ip(user, ip)
    assets.ensure_not_duplicate(session, sha256, upload.keep_duplicate, user)
    quota.check(session, user, upload.length)
    return user


def record(session: Session, upload: Upload, received: Received, user: User) -> Asset:
    """The asset of a finished upload, whose original now exists under ``received.key``."""
    asset = assets.register(session, received, user=user, title=upload.title,
                            category_id=upload.category_id)
    upload.asset_id = asset.id
    upload.offset = upload.length
    session.flush()
    return asset


def discard(settings: Settings, upload_id: str) -> None:
    """End an upload whose bytes are not kept (refused, duplicate, or its file gone)."""
    with unit_of_work(settings) as session:
        upload = session.get(Upload, upload_id)
        if upload is not None:
            remove(session, settings, upload)


def complete(settings: Settings, upload_id: str, sha256: str, head: bytes,
             ip: str | None = None) -> Asset:
    """The last byte landed: move the file into storage and create the asset, or refuse it."""
    storage = get_storage(settings)
    path = part_path(settings, upload_id)
    with unit_of_work(settings) as session:
        upload = session.get(Upload, upload_id)
        if upload is None:
            raise NotFound("upload not found")
        sniffed = classify(head, upload.filename)
        user = admit(session, upload, sha256, ip)
        key = original_key(sniffed.kind, sniffed.extension)
        received = Received(key, upload.length, sha256, sniffed, upload.filename)
        # Same file system (the default): a rename, not a second write of the bytes.
        storage.put_file(key, path, sniffed.mime, move=True)
        try:
            return record(session, upload, received, user)
        except BaseException:
            storage.delete(key)
            raise


def purge_expired(settings: Settings) -> int:
    """Remove abandoned uploads (and, past their expiry, the rows of finished ones)."""
    removed = 0
    with unit_of_work(settings) as session:
        stale = session.scalars(select(Upload).where(Upload.expires_at <= utcnow())).all()
        for upload in stale:
            remove(session, settings, upload)
            removed += 1
    # Partial files and tails whose rows are gone (a crash between the two) go too. They are
    # listed before the rows are read, and a partial file is left alone in its first minute
    # (it is made just before its row is committed), so a new upload's is not taken for one.
    bucket = staging_bucket(settings)
    settled = time.time() - 60
    parts = [path for path in settings.uploads_dir.glob("*.part")
             if path.stat().st_mtime < settled] if settings.uploads_dir.is_dir() else []
    tails = list(bucket.list("uploads")) if bucket is not None else []
    if parts or tails:
        with unit_of_work(settings) as session:
            known = set(session.scalars(select(Upload.id)).all())
        for path in parts:
            if path.stem not in known:
                path.unlink(missing_ok=True)
        for key in tails:
            if key.split("/")[1] not in known:
                bucket.delete(key)
    return removed
