"""tus uploads staged in S3: each PATCH streams into the parts of a multipart upload of the
final object, so that any API process behind the load balancer can take any PATCH and no
local disk holds the bytes (Fargate's is 20 GiB; an upload may be 50 GiB).

- The object's key (``original/{type}/…``) is decided from the first 8 KiB; refused content
  ends the upload with 415. A first PATCH shorter than that waits in the tail (below).
- Parts are ``part_size`` long (at least 5 MiB, S3's minimum for every part but the last,
  and large enough that an upload stays under S3's 10,000 parts). What is left when a PATCH
  ends short of the whole upload becomes a part too if it is that long, else a small tail
  object that the next PATCH reads and sends first (tusd's s3store does the same).
- The row records the multipart upload, its parts (number, ETag, size) and the sha256 state
  after the last part (see :mod:`openwan.uploads.sha256` for why a saved state, and not a
  hash in memory or a re-read). Whichever process takes the next PATCH restores that state,
  hashes the tail it reads anyway, and goes on. Nothing is kept in process memory between
  PATCHes: restoring costs a string on a row that is read anyway, and a memory would only add
  a way to be stale.
- One PATCH at a time across processes: a PATCH claims the row (``busy_until``/``busy_token``)
  at the offset it was sent for, renews the claim while the body flows, and records its parts
  and the new offset only while it still holds the claim. Parts sent by a PATCH that is not
  recorded (checksum mismatch, 413, lost claim, crash) are replaced by the next PATCH's,
  which reuses their numbers, or left out at completion; S3 drops them then.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from fastapi import Request
from sqlalchemy import or_, update
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from openwan.assets.ingest import Received, classify
from openwan.config import Settings
from openwan.db import get_engine, unit_of_work
from openwan.kit.errors import (
    APIError,
    BadRequest,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from openwan.kit.io import run_io
from openwan.kit.sniff import HEAD_SIZE, Sniffed
from openwan.models import Asset, Upload, User, utcnow
from openwan.storage import ObjectNotFound, StorageError, original_key
from openwan.uploads import service
from openwan.uploads.service import CHECKSUMS, ChecksumMismatch
from openwan.uploads.sha256 import ResumableSha256

if TYPE_CHECKING:
    from openwan.storage.s3 import S3Storage

log = logging.getLogger("openwan.uploads")

LEASE = timedelta(seconds=60)
_RENEW_EVERY = 15.0  # seconds
_MAX_PARTS = 9_000  # S3 allows 10,000


class TakenOver(Conflict):
    def __init__(self) -> None:
        super().__init__("another PATCH took this upload over (this one stalled past its "
                         "claim); ask for the offset and resume")


@dataclass
class _Claim:
    """The row as the claiming PATCH found it, and the token that proves the claim."""

    upload_id: str
    token: str
    offset: int
    length: int
    filename: str
    expires_at: datetime
    type: str | None
    mime: str | None
    key: str | None
    mpu_id: str | None
    parts: list[list] = field(default_factory=list)  # [number, etag, size]
    sha_state: str | None = None

    @property
    def parts_end(self) -> int:
        return sum(size for _, _, size in self.parts)


@dataclass(frozen=True)
class Patched:
    offset: int
    expires_at: datetime
    asset_id: int | None = None


def _claim(settings: Settings, user: User, upload_id: str, offset: int) -> _Claim:
    """Claim the upload at ``offset`` for this PATCH; 404, or 409 when complete, at another
    offset, or held by another PATCH."""
    now = utcnow()
    with unit_of_work(settings) as session:
        upload = service.get_for_user(session, user, upload_id)
        if upload.asset_id is not None:
            raise Conflict("this upload is already complete", asset_id=upload.asset_id)
        if offset != upload.offset:
            raise Conflict(f"Upload-Offset {offset} does not match the current offset "
                           f"{upload.offset}", offset=upload.offset,
                           headers={"Upload-Offset": str(upload.offset)})
        claim = _Claim(upload_id=upload.id, token=uuid.uuid4().hex, offset=upload.offset,
                       length=upload.length, filename=upload.filename,
                       expires_at=upload.expires_at, type=upload.type, mime=upload.mime_type,
                       key=upload.storage_key, mpu_id=upload.mpu_id,
                       parts=[list(p) for p in upload.parts or []], sha_state=upload.sha_state)
        taken = session.execute(
            update(Upload)
            .where(Upload.id == upload_id, Upload.offset == offset,
                   or_(Upload.busy_until.is_(None), Upload.busy_until < now))
            .values(busy_until=now + LEASE, busy_token=claim.token)
            .execution_options(synchronize_session=False)).rowcount
        if taken != 1:
            raise Conflict("another PATCH to this upload is in progress; retry when it ends")
    return claim


def _update(settings: Settings, claim: _Claim, **values) -> bool:
    """Write ``values`` to the row if this PATCH still holds it."""
    with get_engine(settings).begin() as conn:
        return conn.execute(update(Upload).where(Upload.id == claim.upload_id,
                                                 Upload.busy_token == claim.token)
                            .values(**values)).rowcount == 1


def _release(settings: Settings, claim: _Claim) -> None:
    _update(settings, claim, busy_until=None, busy_token=None)


def _extension(key: str) -> str:
    return key.rsplit("/", 1)[1].partition(".")[2]  # ``original_key``: {uuid hex}.{ext}


def _complete(settings: Settings, bucket: S3Storage, claim: _Claim, last: bytes, sha256: str,
              ip: str | None) -> Asset:
    """The last byte landed: refuse a duplicate or an upload past the quota (the caller then
    discards it), else make the object and, once it exists, the asset."""
    with unit_of_work(settings) as session:
        upload = session.get(Upload, claim.upload_id)
        if upload is None or upload.busy_token != claim.token:
            raise TakenOver()
        user = service.admit(session, upload, sha256, ip)
        key, mime = claim.key, claim.mime
        if claim.mpu_id is None:
            bucket.put_bytes(key, last, mime)
        else:
            parts = [(number, etag) for number, etag, _ in claim.parts]
            if last:
                number = parts[-1][0] + 1 if parts else 1
                parts.append((number, bucket.upload_part(key, claim.mpu_id, number, last)))
            bucket.complete_multipart(key, claim.mpu_id, parts)
        try:
            received = Received(key, upload.length, sha256,
                                Sniffed(claim.type, mime, _extension(key)), upload.filename)
            upload.mpu_id = upload.parts = upload.sha_state = None
            upload.busy_until = upload.busy_token = None
            asset = service.record(session, upload, received, user)
        except BaseException:
            bucket.delete(key)
            raise
    bucket.delete_prefix(service.tails_prefix(claim.upload_id))
    return asset


class _Patch:
    """One PATCH's body on its way into parts; see the module docstring."""

    def __init__(self, settings: Settings, bucket: S3Storage, claim: _Claim,
                 checksum: tuple[str, bytes] | None) -> None:
        from openwan.storage.s3 import MIN_PART

        self.settings, self.bucket, self.claim = settings, bucket, claim
        # Every part but the last is at least this long: S3's minimum, and few enough parts.
        self.floor = max(MIN_PART, -(-claim.length // _MAX_PARTS))
        self.part_size = max(bucket.part_size, self.floor)
        self.pending: list[bytes] = []  # the bytes past the last part: the tail, then the body
        self.pending_len = 0
        self.sha = (ResumableSha256.resume(claim.sha_state) if claim.sha_state
                    else ResumableSha256())  # at the last part
        self.part_hash = CHECKSUMS[checksum[0]]() if checksum else None
        self.expected = checksum[1] if checksum else None
        self.inflight: asyncio.Future | None = None
        self.renew_at = time.monotonic() + _RENEW_EVERY
        self.tail_held = claim.offset - claim.parts_end
        # The head is decided from recorded bytes only: a PATCH that failed after sending
        # parts may have recorded a type, and the next one may send other bytes.
        self.must_classify = claim.offset < HEAD_SIZE

    async def start(self) -> None:
        """Read the tail, if any."""
        claim = self.claim
        held = self.tail_held
        if held:
            try:
                tail = await run_io(self.bucket.read_bytes,
                                    service.tail_key(claim.upload_id, claim.offset))
            except ObjectNotFound:
                tail = b""
            if len(tail) != held:
                # The tail is gone: the upload resumes after its last part.
                resume = claim.parts_end
                await run_in_threadpool(_update, self.settings, claim, offset=resume,
                                        busy_until=None, busy_token=None)
                raise Conflict(f"the server holds {resume} bytes of this upload; resume there",
                               offset=resume, headers={"Upload-Offset": str(resume)})
            self._keep(tail)

    def _keep(self, data: bytes) -> None:
        self.pending.append(data)
        self.pending_len += len(data)

    async def receive(self, request: Request) -> tuple[int, bool]:
        """Stream the body into parts; (bytes received, client disconnected)."""
        claim = self.claim
        position = claim.offset
        try:
            async for chunk in request.stream():
                if not chunk:
                    continue
                if position + len(chunk) > claim.length:
                    raise PayloadTooLarge("the body goes past Upload-Length")
                position += len(chunk)
                if self.part_hash is not None:
                    self.part_hash.update(chunk)
                self._keep(chunk)
                if self.must_classify and self.pending_len >= HEAD_SIZE:
                    await self._classify()
                while self.pending_len >= self.part_size:
                    block = b"".join(self.pending)
                    self.pending = [block[self.part_size:]]
                    self.pending_len = len(self.pending[0])
                    await self._send(block[: self.part_size])
                if time.monotonic() >= self.renew_at:
                    await self._renew()
        except ClientDisconnect:
            return position - claim.offset, True
        return position - claim.offset, False

    async def _classify(self) -> None:
        # No part is sent before this: the pending bytes start at offset 0.
        self.must_classify = False
        claim = self.claim
        head = b"".join(self.pending)[:HEAD_SIZE]
        try:
            sniffed = classify(head, claim.filename)
        except UnsupportedMediaType:
            await run_in_threadpool(service.discard, self.settings, claim.upload_id)
            raise
        if claim.key is not None and (claim.type, claim.mime, _extension(claim.key)) == \
                (sniffed.kind, sniffed.mime, sniffed.extension):
            return  # as a failed PATCH found it: its multipart upload goes on
        if claim.mpu_id is not None:
            # Started by a PATCH that was not recorded, for other content.
            await run_io(self.bucket.abort_multipart, claim.key, claim.mpu_id)
            claim.mpu_id = None
            if not await run_in_threadpool(_update, self.settings, claim, mpu_id=None):
                raise TakenOver()
        claim.type, claim.mime = sniffed.kind, sniffed.mime
        claim.key = original_key(sniffed.kind, sniffed.extension)

    async def _send(self, block: bytes) -> None:
        """Send ``block`` as the next part, hashing it meanwhile; waits for the previous one
        (at most two parts in memory, and the hash sees the parts in order)."""
        await self.settle()
        claim = self.claim
        if claim.mpu_id is None:
            claim.mpu_id = await run_io(self.bucket.start_multipart, claim.key, claim.mime)
            # Recorded at once, so that termination or expiry can abort it whatever happens.
            if not await run_in_threadpool(_update, self.settings, claim, mpu_id=claim.mpu_id,
                                           storage_key=claim.key, type=claim.type,
                                           mime_type=claim.mime):
                await run_io(self.bucket.abort_multipart, claim.key, claim.mpu_id)
                raise TakenOver()
        number = claim.parts[-1][0] + 1 if claim.parts else 1

        async def send() -> None:
            etag, _ = await asyncio.gather(
                run_io(self.bucket.upload_part, claim.key, claim.mpu_id, number, block),
                run_io(self.sha.update, block))
            claim.parts.append([number, etag, len(block)])

        self.inflight = asyncio.ensure_future(send())

    async def settle(self) -> None:
        """Wait for the part in flight; its failure fails the PATCH."""
        inflight, self.inflight = self.inflight, None
        if inflight is not None:
            await inflight

    async def abandon(self) -> None:
        inflight, self.inflight = self.inflight, None
        if inflight is not None:
            await asyncio.gather(inflight, return_exceptions=True)

    async def _renew(self) -> None:
        self.renew_at = time.monotonic() + _RENEW_EVERY
        if not await run_in_threadpool(_update, self.settings, self.claim,
                                       busy_until=utcnow() + LEASE):
            raise TakenOver()

    async def finish(self, new_offset: int) -> None:
        """A PATCH short of the whole upload: send what is left as a part if it is long
        enough, else as the new tail; then record the parts and the offset."""
        claim = self.claim
        rest = b"".join(self.pending)
        if len(rest) >= self.floor:
            await self._send(rest)
            rest = b""
        await self.settle()
        tail = service.tail_key(claim.upload_id, new_offset)
        if rest:
            await run_io(self.bucket.put_bytes, tail, rest)
        recorded = await run_in_threadpool(
            _update, self.settings, claim, offset=new_offset, parts=claim.parts,
            sha_state=self.sha.state(), type=claim.type, mime_type=claim.mime,
            storage_key=claim.key, mpu_id=claim.mpu_id, busy_until=None, busy_token=None)
        if not recorded:
            if rest:
                await run_io(self.bucket.delete, tail)
            raise TakenOver()
        if self.tail_held:
            try:
                await run_io(self.bucket.delete, service.tail_key(claim.upload_id, claim.offset))
            except StorageError as exc:  # the stray tail goes with its upload at the latest
                log.warning("could not delete an old tail of upload %s: %s", claim.upload_id,
                            exc)

    async def complete(self, ip: str | None) -> Asset:
        claim = self.claim
        await self.settle()
        if self.must_classify:  # the whole file is under 8 KiB
            await self._classify()
        last = b"".join(self.pending)
        await run_io(self.sha.update, last)
        await self._renew()  # completing a large upload may take S3 a while
        try:
            return await run_in_threadpool(_complete, self.settings, self.bucket, claim, last,
                                           self.sha.hexdigest(), ip)
        except TakenOver:
            raise
        except APIError:
            # A duplicate or refused file: the upload ends here, its bytes are not kept.
            await run_in_threadpool(service.discard, self.settings, claim.upload_id)
            raise


async def patch(request: Request, settings: Settings, user: User, upload_id: str, offset: int,
                checksum: tuple[str, bytes] | None, ip: str | None) -> Patched:
    """Append the body at ``offset`` (see the module docstring); the asset is created when the
    last byte lands."""
    bucket = service.staging_bucket(settings)
    claim = await run_in_threadpool(_claim, settings, user, upload_id, offset)
    work = _Patch(settings, bucket, claim, checksum)
    held = True
    try:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and offset + int(declared) > claim.length:
            raise PayloadTooLarge("the body would go past Upload-Length")
        await work.start()
        received, disconnected = await work.receive(request)
        if checksum:
            if disconnected:
                raise BadRequest("the PATCH was interrupted; nothing was appended")
            await work.settle()
            if work.part_hash.digest() != work.expected:
                raise ChecksumMismatch("Upload-Checksum does not match the body; nothing was "
                                       "appended", headers={"Upload-Offset": str(offset)})
        new_offset = offset + received
        if new_offset == claim.length:
            asset = await work.complete(ip)
            held = False
            return Patched(new_offset, claim.expires_at, asset.id)
        if received:
            await work.finish(new_offset)
            held = False
        return Patched(new_offset, claim.expires_at)
    finally:
        await work.abandon()
        if held:
            await run_in_threadpool(_release, settings, claim)
