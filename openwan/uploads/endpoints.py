"""tus 1.0.0 resumable uploads (core, creation, termination, checksum, expiration)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import fcntl
import hashlib
import os
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import update
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from openwan.access import permissions as P
from openwan.assets.events import asset_created
from openwan.assets.ingest import BLOCK, classify, hash_file
from openwan.db import get_engine, unit_of_work
from openwan.deps import CachedUser, CurrentUser, Require, SessionDep, SettingsDep, client_ip
from openwan.kit.appender import FileAppender
from openwan.kit.errors import APIError, BadRequest, Conflict, PayloadTooLarge, UnsupportedMediaType
from openwan.kit.io import Pipeline, run_io
from openwan.kit.sniff import HEAD_SIZE
from openwan.models import Upload, User, utcnow
from openwan.uploads import multipart, service
from openwan.uploads.service import CHECKSUMS, ChecksumMismatch

router = APIRouter(prefix="/api/v1/uploads", tags=["uploads"])

TUS_VERSION = "1.0.0"
BASE_HEADERS = {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store"}


class PreconditionFailed(APIError):
    status, code = 412, "precondition_failed"


@dataclass
class _Receiving:
    """What this process knows of an upload between two of its PATCHes: the row's fields a
    PATCH needs and the running sha256 at ``offset``, so that a warm PATCH reads neither the
    row nor the partial file again. The row stays the truth: a PATCH at another offset, a
    partial file of another size, or a restart (which loses this) reads it again."""

    upload_id: str
    user_id: int
    offset: int
    length: int
    type: str | None
    filename: str
    expires_at: datetime
    sha: hashlib._Hash | None = None  # None: hash the partial file up to ``offset``
    cached: bool = False  # came from this process's memory, not from the row


_receiving: OrderedDict[str, _Receiving] = OrderedDict()
_MAX_RECEIVING = 256


def _remember(state: _Receiving) -> None:
    _receiving[state.upload_id] = state
    _receiving.move_to_end(state.upload_id)
    while len(_receiving) > _MAX_RECEIVING:
        _receiving.popitem(last=False)


def _take(upload_id: str, user: User, offset: int) -> _Receiving | None:
    """The remembered state of ``upload_id`` if it is the caller's, alive and at ``offset``.
    Taken out while in use: an error in a PATCH must not leave a half-updated hash behind."""
    state = _receiving.pop(upload_id, None)
    if state is None or state.offset != offset or state.expires_at <= utcnow() or (
            state.user_id != user.id and not user.is_admin):
        return None
    state.cached = True
    return state


def _require_tus(request: Request) -> None:
    version = request.headers.get("tus-resumable")
    if version != TUS_VERSION:
        raise PreconditionFailed(f"Tus-Resumable: {TUS_VERSION} is required",
                                 headers={"Tus-Version": TUS_VERSION})


def _expires(upload: Upload | _Receiving | multipart.Patched) -> str:
    return format_datetime(upload.expires_at, usegmt=True)


@router.options("", status_code=204, include_in_schema=True)
def options(settings: SettingsDep) -> Response:
    """tus discovery: version, extensions, maximum size, checksum algorithms."""
    return Response(status_code=204, headers={
        "Tus-Resumable": TUS_VERSION, "Tus-Version": TUS_VERSION,
        "Tus-Extension": "creation,termination,checksum,expiration",
        "Tus-Max-Size": str(settings.upload.max_size),
        "Tus-Checksum-Algorithm": ",".join(CHECKSUMS)})


@router.post("", status_code=201, responses={201: {"description": "created; see Location"}})
def create_upload(request: Request, user: Require(P.ASSET_UPLOAD), session: SessionDep,
                  settings: SettingsDep) -> Response:
    """Create an upload: ``Upload-Length``, ``Upload-Metadata`` (filename, title, category_id)."""
    _require_tus(request)
    raw_length = request.headers.get("upload-length")
    if raw_length is None:
        raise BadRequest("Upload-Length is required (deferred length is not supported)")
    if not raw_length.isdigit():
        raise BadRequest("Upload-Length must be a non-negative integer")
    length = int(raw_length)
    if length == 0:
        raise UnsupportedMediaType("the file is empty")
    if length > settings.upload.max_size:
        raise PayloadTooLarge(f"Upload-Length {length} exceeds the maximum of "
                              f"{settings.upload.max_size} bytes")
    metadata = service.parse_metadata(request.headers.get("upload-metadata"))
    upload = service.create(session, settings, user, length, metadata)
    return Response(status_code=201, headers={
        **BASE_HEADERS, "Location": f"/api/v1/uploads/{upload.id}",
        "Upload-Expires": _expires(upload), "Upload-Offset": "0"})


@router.head("/{upload_id}", status_code=200)
def head_upload(upload_id: str, request: Request, user: CurrentUser,
                session: SessionDep) -> Response:
    """The offset to resume from."""
    upload = service.get_for_user(session, user, upload_id)
    return Response(status_code=200, headers={
        **BASE_HEADERS, "Upload-Offset": str(upload.offset),
        "Upload-Length": str(upload.length), "Upload-Expires": _expires(upload)})


@router.get("/{upload_id}")
def get_upload(upload_id: str, user: CurrentUser, session: SessionDep) -> dict:
    """JSON view of an upload; ``asset_id`` is set once the last byte landed."""
    upload = service.get_for_user(session, user, upload_id)
    return {"id": upload.id, "offset": upload.offset, "length": upload.length,
            "filename": upload.filename, "complete": upload.asset_id is not None,
            "asset_id": upload.asset_id, "expires_at": upload.expires_at}


@router.delete("/{upload_id}", status_code=204)
def terminate_upload(upload_id: str, request: Request, user: CurrentUser, session: SessionDep,
                     settings: SettingsDep) -> Response:
    """tus termination: the partial file and its row are removed."""
    _require_tus(request)
    upload = service.get_for_user(session, user, upload_id)
    if upload.asset_id is not None:
        raise Conflict("this upload is complete; delete the asset instead")
    if upload.busy_until is not None and upload.busy_until > utcnow():
        raise Conflict("a PATCH to this upload is in progress; terminate it afterwards")
    service.remove(session, settings, upload)
    _receiving.pop(upload_id, None)
    return Response(status_code=204, headers=BASE_HEADERS)


def _parse_checksum(header: str | None):
    if not header:
        return None
    algo, _, value = header.strip().partition(" ")
    if algo.lower() not in CHECKSUMS:
        raise BadRequest(f"unsupported checksum algorithm {algo!r}; use one of "
                         f"{', '.join(CHECKSUMS)}")
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except binascii.Error as exc:
        raise BadRequest("Upload-Checksum value must be base64") from exc
    return algo.lower(), digest


def _load(settings, user: User, upload_id: str) -> tuple[_Receiving, int | None]:
    """The upload's row (checked: the caller's, not expired) and its asset id if complete."""
    with unit_of_work(settings) as session:
        upload = service.get_for_user(session, user, upload_id)
        state = _Receiving(upload_id=upload.id, user_id=upload.user_id, offset=upload.offset,
                           length=upload.length, type=upload.type, filename=upload.filename,
                           expires_at=upload.expires_at)
        return state, upload.asset_id


def _save_offset(settings, upload_id: str, offset: int, kind: str | None) -> None:
    # One statement, no ORM session: this runs after every PATCH.
    with get_engine(settings).begin() as conn:
        conn.execute(update(Upload).where(Upload.id == upload_id)
                     .values(offset=offset, type=kind))


def _discard(settings, upload_id: str) -> None:
    service.discard(settings, upload_id)
    _receiving.pop(upload_id, None)


@router.patch("/{upload_id}", status_code=204, openapi_extra={"requestBody": {
    "required": True, "content": {"application/offset+octet-stream": {
        "schema": {"type": "string", "format": "binary"}}}}})
async def patch_upload(upload_id: str, request: Request, user: CachedUser,
                       settings: SettingsDep) -> Response:
    """Append bytes at ``Upload-Offset``; the asset is created when the last byte lands."""
    _require_tus(request)
    if request.headers.get("content-type", "").split(";")[0].strip() != \
            "application/offset+octet-stream":
        raise UnsupportedMediaType("PATCH needs Content-Type: application/offset+octet-stream")
    raw_offset = request.headers.get("upload-offset", "")
    if not raw_offset.isdigit():
        raise BadRequest("Upload-Offset must be a non-negative integer")
    offset = int(raw_offset)
    checksum = _parse_checksum(request.headers.get("upload-checksum"))
    if service.staging_bucket(settings) is not None:
        done = await multipart.patch(request, settings, user, upload_id, offset, checksum,
                                     client_ip(request))
        headers = {**BASE_HEADERS, "Upload-Offset": str(done.offset),
                   "Upload-Expires": _expires(done)}
        if done.asset_id is None:
            return Response(status_code=204, headers=headers)
        await run_in_threadpool(asset_created, settings, done.asset_id)
        return Response(status_code=204, headers={**headers, "X-Asset-Id": str(done.asset_id)})
    state = _take(upload_id, user, offset) or await _from_row(settings, user, upload_id, offset)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and offset + int(declared) > state.length:
        raise PayloadTooLarge("the body would go past Upload-Length")

    path = service.part_path(settings, upload_id)
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError as exc:
        # Another server may hold it (the uploads folder is not shared): the upload stays;
        # only its expiry removes it.
        _receiving.pop(upload_id, None)
        raise Conflict("this server does not hold the partial file of this upload; retry the "
                       "PATCH on the server that received its first bytes") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise Conflict("another PATCH to this upload is in progress") from exc
        on_disk = os.fstat(fd).st_size
        if on_disk != offset and state.cached:
            # Another process wrote here, or this one's memory is stale: ask the row.
            state = await _from_row(settings, user, upload_id, offset)
        if on_disk > offset:
            # A crash after writing but before recording the offset: the row is the truth.
            os.ftruncate(fd, offset)
        elif on_disk < offset:
            # The machine lost unsynced bytes: resume from what the disk really holds.
            await run_in_threadpool(_save_offset, settings, upload_id, on_disk, state.type)
            raise Conflict(f"the server holds {on_disk} bytes of this upload; resume there",
                           offset=on_disk, headers={"Upload-Offset": str(on_disk)})
        sha = state.sha if state.sha is not None else await run_io(hash_file, path, offset)
        state.sha = None  # in use until this PATCH ends well
        before = sha.copy() if checksum else None
        part_hash = CHECKSUMS[checksum[0]]() if checksum else None
        head = b""
        written, disconnected, tail = await _receive(request, path, fd, offset, state.length, sha,
                                                     part_hash)
        new_offset = offset + written
        # No fsync per PATCH: the final move into storage syncs the whole file, and a crash
        # before that is caught above (the disk holding less than the recorded offset).
        if not checksum and state.type is not None and new_offset < state.length:
            # The common PATCH: the last blocks' write and hash and the record of the new
            # offset run side by side. Should one fail, the next PATCH finds row and file
            # disagreeing and settles on what the disk holds (above).
            await _settle(fd, offset, tail, run_in_threadpool(
                _save_offset, settings, upload_id, new_offset, state.type))
        else:
            await _settle(fd, offset, tail)
            if checksum and (disconnected or part_hash.digest() != checksum[1]):
                os.ftruncate(fd, offset)
                state.sha = before
                _remember(state)
                if disconnected:
                    raise BadRequest("the PATCH was interrupted; nothing was appended")
                raise ChecksumMismatch("Upload-Checksum does not match the body; nothing was "
                                       "appended", headers={"Upload-Offset": str(offset)})
            if new_offset >= HEAD_SIZE or new_offset == state.length:
                head = os.pread(fd, HEAD_SIZE, 0)
                if state.type is None:
                    try:
                        state.type = classify(head, state.filename).kind
                    except UnsupportedMediaType:
                        await run_in_threadpool(_discard, settings, upload_id)
                        raise
            await run_in_threadpool(_save_offset, settings, upload_id, new_offset, state.type)
    finally:
        os.close(fd)
    headers = {**BASE_HEADERS, "Upload-Offset": str(new_offset),
               "Upload-Expires": _expires(state)}
    if new_offset < state.length:
        state.offset, state.sha = new_offset, sha
        _remember(state)
        return Response(status_code=204, headers=headers)
    try:
        asset = await run_in_threadpool(service.complete, settings, upload_id,
                                        sha.hexdigest(), head, client_ip(request))
    except APIError as exc:
        # A duplicate or refused file: the upload ends here, its bytes are not kept.
        await run_in_threadpool(_discard, settings, upload_id)
        return JSONResponse(exc.body(), status_code=exc.status, headers={**headers, **exc.headers})
    await run_in_threadpool(asset_created, settings, asset.id)
    return Response(status_code=204, headers={**headers, "X-Asset-Id": str(asset.id)})


async def _from_row(settings, user: User, upload_id: str, offset: int) -> _Receiving:
    """The upload as its row has it; 409 when complete or at another offset."""
    state, asset_id = await run_in_threadpool(_load, settings, user, upload_id)
    if asset_id is not None:
        raise Conflict("this upload is already complete", asset_id=asset_id)
    if offset != state.offset:
        raise Conflict(f"Upload-Offset {offset} does not match the current offset "
                       f"{state.offset}", offset=state.offset,
                       headers={"Upload-Offset": str(state.offset)})
    return state


async def _receive(request: Request, path, fd: int, offset: int, length: int, sha, part_hash):
    """Write the body at ``offset``, hashing on the way. Returns (bytes received,
    disconnected, the writes and hashes still in flight: see :func:`_settle`)."""
    position = offset
    pending: list[bytes] = []
    pending_len = 0
    disconnected = False
    # The block's chunks go to the appender as they are (joining them into one buffer first
    # would cost the event loop a copy of every byte); it hashes what it writes.
    appender = FileAppender(path, fd, offset, [sha] if part_hash is None else [sha, part_hash])
    pipeline = Pipeline(appender)
    try:
        try:
            async for chunk in request.stream():
                if position + pending_len + len(chunk) > length:
                    raise PayloadTooLarge("the body goes past Upload-Length")
                pending.append(chunk)
                pending_len += len(chunk)
                if pending_len >= BLOCK:
                    block, pending = pending, []
                    position += pending_len
                    pending_len = 0
                    await pipeline.push(block)
        except ClientDisconnect:
            disconnected = True
        if pending:
            position += pending_len
            await pipeline.push(pending)
    except BaseException:
        with contextlib.suppress(Exception):
            await pipeline.finish()
        appender.release()
        os.ftruncate(fd, offset)
        raise
    return position - offset, disconnected, asyncio.ensure_future(_drain(pipeline, appender))


async def _drain(pipeline: Pipeline, appender: FileAppender) -> None:
    """The blocks in flight through their sinks, then the appender's last bytes."""
    try:
        await pipeline.finish()
        await run_io(appender.close)  # what the buffer still holds
    finally:
        appender.release()


async def _settle(fd: int, offset: int, tail: asyncio.Future | None, *also) -> None:
    """Wait for the body's blocks still in flight (and ``also``); if a write or hash failed,
    nothing of this PATCH stays on disk."""
    results = await asyncio.gather(*([tail] if tail is not None else []), *also,
                                   return_exceptions=True)
    failed = [r for r in results if isinstance(r, BaseException)]
    if failed:
        if tail is not None and tail.exception() is not None:
            os.ftruncate(fd, offset)
        raise failed[0]
