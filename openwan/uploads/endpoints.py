"""tus 1.0.0 resumable uploads (core, creation, termination, checksum, expiration)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import fcntl
import hashlib
import logging
import os
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import update
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from openwan.access import permissions as P
from openwan.assets.events import asset_created
from openwan.assets.ingest import BLOCK, classify, hash_file
from openwan.config import Settings
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
log = logging.getLogger("openwan.uploads")

TUS_VERSION = "1.0.0"
BASE_HEADERS = {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store"}


class PreconditionFailed(APIError):
    status, code = 412, "precondition_failed"


@dataclass
class _Open:
    """An upload's partial file held open between its PATCHes: the descriptor (and its lock),
    the appender, which still buffers the last unaligned block, and the blocks in flight.

    The next PATCH at the right offset goes on pushing into the same pipeline: its bytes
    follow the last ones without a flush, a head read-back or a hash hand-over in between, and
    the hashing of one PATCH's last blocks overlaps the receiving of the next one (sha256 is
    about as fast as the event loop receives; waiting for it after every PATCH cost a third of
    an upload's time). Every PATCH is answered once its bytes are durable (written, synced,
    the row's offset recorded: :func:`_make_durable`), so an offset a client was given
    survives a crash. The upload *lands* (everything written and hashed, the appender
    released) at its last PATCH, before any other request to it reads the row
    (:func:`landed`), after ``IDLE`` seconds without a PATCH, and at shutdown.
    """

    settings: Settings
    fd: int
    appender: FileAppender
    pipeline: Pipeline
    idle: asyncio.TimerHandle | None = None

    async def flush(self) -> None:
        """Every byte handed over written and hashed, the appender released. The descriptor
        stays open."""
        try:
            await self.pipeline.finish()
            await run_io(self.appender.close)
        finally:
            self.appender.release()


@dataclass
class _Receiving:
    """What this process knows of an upload between two of its PATCHes: the row's fields a
    PATCH needs and the running sha256 at ``offset`` (complete once ``open`` has landed), so
    that a warm PATCH reads neither the row nor the partial file again. The row stays the
    truth: a PATCH at another offset, a partial file of another size, or a restart (which
    loses this) reads it again."""

    upload_id: str
    user_id: int
    offset: int
    length: int
    type: str | None
    filename: str
    expires_at: datetime
    sha: hashlib._Hash | None = None  # None: hash the partial file up to ``offset``
    cached: bool = False  # came from this process's memory, not from the row
    open: _Open | None = None


_receiving: OrderedDict[str, _Receiving] = OrderedDict()
_MAX_RECEIVING = 256
_MAX_OPEN = 16  # each holds two 2 MiB buffers, a descriptor and two idle threads
IDLE = 5.0  # seconds without a PATCH before an open upload lands
_landing: dict[str, asyncio.Task] = {}


def _remember(state: _Receiving) -> None:
    _receiving[state.upload_id] = state
    _receiving.move_to_end(state.upload_id)
    while len(_receiving) > _MAX_RECEIVING:
        _, evicted = _receiving.popitem(last=False)
        _land_soon(evicted)
    held = [s for s in _receiving.values() if s.open is not None]
    for oldest in held[:max(0, len(held) - _MAX_OPEN)]:
        _land_soon(oldest)


async def _take(upload_id: str, user: User, offset: int, keep_open: bool) -> _Receiving | None:
    """The remembered state of ``upload_id`` if it is the caller's, alive and at ``offset``;
    landed first unless ``keep_open``. Taken out while in use: an error in a PATCH must not
    leave a half-updated hash behind. A state that does not fit is landed and left for a
    PATCH that does (the row answers this one)."""
    running = _landing.get(upload_id)
    if running is not None:  # an idle upload landing: the next PATCH waits for it
        await asyncio.wait([running])
    state = _receiving.get(upload_id)
    if state is None:
        return None
    usable = state.offset == offset and state.expires_at > utcnow() and (
        state.user_id == user.id or user.is_admin)
    if not (usable and keep_open):
        await landed(upload_id)
    if not usable:
        return None
    state = _receiving.pop(upload_id, None)  # gone if its landing failed
    if state is None:
        return None
    if state.open is not None and state.open.idle is not None:
        state.open.idle.cancel()
        state.open.idle = None
    state.cached = True
    return state


async def landed(upload_id: str) -> None:
    """Every byte of ``upload_id`` this process has acknowledged is written and its row's
    offset exact: a dependency of the routes that read an upload."""
    running = _landing.get(upload_id)
    if running is None:
        state = _receiving.get(upload_id)
        if state is None or state.open is None:
            return
        running = _start_landing(state)
    await asyncio.wait([running])  # not cancelled with the caller; failures are handled there


async def land_all() -> None:
    """At shutdown: every upload held open lands."""
    for state in list(_receiving.values()):
        _land_soon(state)
    if _landing:
        await asyncio.wait(list(_landing.values()))


Landed = Depends(landed)


def _land_soon(state: _Receiving) -> None:
    if state.open is not None and state.upload_id not in _landing:
        _start_landing(state)


def _start_landing(state: _Receiving) -> asyncio.Task:
    task = asyncio.ensure_future(_write_out(state))
    _landing[state.upload_id] = task
    task.add_done_callback(lambda done: _landing.pop(state.upload_id, None)
                           if _landing.get(state.upload_id) is done else None)
    return task


async def _write_out(state: _Receiving) -> None:
    """Write out everything ``state.open`` holds and record the exact offset. On failure the
    upload is forgotten here (logged), and its next PATCH settles on what the row and the
    file hold: the client resumes there."""
    opened, state.open = state.open, None
    if opened is None:
        return
    if opened.idle is not None:
        opened.idle.cancel()
    try:
        try:
            await opened.flush()
            await run_in_threadpool(_save_offset, opened.settings, state.upload_id,
                                    state.offset, state.type)
        finally:
            os.close(opened.fd)
    except Exception:
        state.sha = None
        if _receiving.get(state.upload_id) is state:
            del _receiving[state.upload_id]
        log.warning("upload %s: writing out its last PATCHes failed", state.upload_id,
                    exc_info=True)


def _hold(state: _Receiving, opened: _Open) -> None:
    """Keep ``opened`` for the next PATCH (landed after ``IDLE`` seconds without one)."""
    state.open = opened
    opened.idle = asyncio.get_running_loop().call_later(IDLE, _land_soon, state)
    _remember(state)


def _make_durable(opened: _Open, upload_id: str, kind: str | None) -> int:
    """Every byte this upload received in its file (on the disk too with
    ``OPENWAN_TUS_FSYNC``) and the row's offset there: what a PATCH may then acknowledge,
    whatever happens to this process next. The hashing of the last blocks goes on meanwhile
    (it is not needed to resume)."""
    offset = opened.appender.sync(to_disk=opened.settings.upload.tus_fsync)
    _save_offset(opened.settings, upload_id, offset, kind)
    return offset


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


@router.head("/{upload_id}", status_code=200, dependencies=[Landed])
def head_upload(upload_id: str, request: Request, user: CurrentUser,
                session: SessionDep) -> Response:
    """The offset to resume from."""
    upload = service.get_for_user(session, user, upload_id)
    return Response(status_code=200, headers={
        **BASE_HEADERS, "Upload-Offset": str(upload.offset),
        "Upload-Length": str(upload.length), "Upload-Expires": _expires(upload)})


@router.get("/{upload_id}", dependencies=[Landed])
def get_upload(upload_id: str, user: CurrentUser, session: SessionDep) -> dict:
    """JSON view of an upload; ``asset_id`` is set once the last byte landed."""
    upload = service.get_for_user(session, user, upload_id)
    return {"id": upload.id, "offset": upload.offset, "length": upload.length,
            "filename": upload.filename, "complete": upload.asset_id is not None,
            "asset_id": upload.asset_id, "expires_at": upload.expires_at}


@router.delete("/{upload_id}", status_code=204, dependencies=[Landed])
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
    state = (await _take(upload_id, user, offset, keep_open=not checksum)
             or await _from_row(settings, user, upload_id, offset))
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and offset + int(declared) > state.length:
        _remember(state)  # unchanged: good for a PATCH that fits
        _land_soon(state)
        raise PayloadTooLarge("the body would go past Upload-Length")
    part_hash = CHECKSUMS[checksum[0]]() if checksum else None
    opened, state.open = state.open, None
    if opened is None:
        state, opened = await _open(settings, user, state, offset, part_hash)
    sha = state.sha
    state.sha = None  # in use until this PATCH ends well
    before = sha.copy() if checksum else None
    try:
        written, disconnected = await _receive(request, opened.pipeline, offset, state.length)
    except BaseException:
        # Nothing of this PATCH stays: the earlier ones' bytes are written out, the file cut
        # back to ``offset``; the hash is rebuilt from the file by the next PATCH.
        await _abandon(state, opened, offset)
        raise
    new_offset = offset + written
    if not checksum and state.type is not None and new_offset < state.length:
        # The common PATCH: answered once its bytes are durable; the appender, the pipeline
        # and the hash stay for the next one.
        try:
            await opened.pipeline.drain()
            await run_in_threadpool(_make_durable, opened, upload_id, state.type)
        except BaseException:
            await _abandon(state, opened, offset)
            raise
        state.offset, state.sha = new_offset, sha
        _hold(state, opened)
        return Response(status_code=204, headers={
            **BASE_HEADERS, "Upload-Offset": str(new_offset), "Upload-Expires": _expires(state)})
    # The last PATCH's bytes are synced by the move into storage; any other's are synced
    # before its offset is recorded and acknowledged.
    head = b""
    fd = opened.fd
    try:
        try:
            await opened.flush()  # a record of an earlier offset goes first
        except BaseException:
            os.ftruncate(fd, offset)
            raise
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
        if new_offset < state.length:
            await run_io(os.fdatasync, fd)
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


async def _open(settings, user: User, state: _Receiving, offset: int,
                part_hash) -> tuple[_Receiving, _Open]:
    """The partial file opened, locked and checked against ``offset``, with an appender
    there feeding the upload's sha256 (rebuilt from the file when not remembered) and
    ``part_hash``. The state may come back re-read from the row."""
    path = service.part_path(settings, state.upload_id)
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError as exc:
        # Another server may hold it (the uploads folder is not shared): the upload stays;
        # only its expiry removes it.
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
            state = await _from_row(settings, user, state.upload_id, offset)
        if on_disk > offset:
            # Bytes past the row's offset (a crash before it was recorded, a PATCH that
            # failed): the row is the truth.
            os.ftruncate(fd, offset)
        elif on_disk < offset:
            # The machine lost unsynced bytes: resume from what the disk really holds.
            await run_in_threadpool(_save_offset, settings, state.upload_id, on_disk,
                                    state.type)
            raise Conflict(f"the server holds {on_disk} bytes of this upload; resume there",
                           offset=on_disk, headers={"Upload-Offset": str(on_disk)})
        if state.sha is None:
            state.sha = await run_io(hash_file, path, offset)
        hashers = [state.sha] if part_hash is None else [state.sha, part_hash]
        appender = FileAppender(path, fd, offset, hashers)
        return state, _Open(settings, fd, appender, Pipeline(appender))
    except BaseException:
        os.close(fd)
        raise


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


async def _receive(request: Request, pipeline: Pipeline, offset: int,
                   length: int) -> tuple[int, bool]:
    """Push the body into ``pipeline`` in blocks; returns (bytes received, disconnected).
    The block's chunks go as they are (joining them into one buffer first would cost the
    event loop a copy of every byte); the appender hashes what it writes."""
    position = offset
    pending: list[bytes] = []
    pending_len = 0
    disconnected = False
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
    return position - offset, disconnected


async def _abandon(state: _Receiving, opened: _Open, offset: int) -> None:
    """A PATCH that failed half-way: the earlier PATCHes' bytes are written out, the file is
    cut back to ``offset`` and the row says so; the state is forgotten (its hash has taken
    some of the failed PATCH's bytes), so the next PATCH rebuilds it from the file."""
    _receiving.pop(state.upload_id, None)
    try:
        await opened.flush()
        os.ftruncate(opened.fd, offset)
        await run_in_threadpool(_save_offset, opened.settings, state.upload_id, offset,
                                state.type)
    except Exception:
        log.warning("upload %s: writing out before PATCH at %d failed", state.upload_id,
                    offset, exc_info=True)
    finally:
        os.close(opened.fd)
