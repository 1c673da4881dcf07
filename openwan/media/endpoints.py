"""Renditions of an asset: listing them with fetchable URLs, streaming them from local storage,
and asking for an asset to be processed again."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from openwan.assets import service as assets
from openwan.assets.schemas import AssetId
from openwan.config import Settings
from openwan.deps import CurrentUser, SessionDep, SettingsDep, StorageDep
from openwan.kit.errors import APIError, NotFound
from openwan.kit.ranges import check_range
from openwan.media import repository
from openwan.media import service as jobs
from openwan.media.schemas import JobOut, Processing, RenditionList, RenditionOut
from openwan.models import Asset, User
from openwan.storage.base import check_key

router = APIRouter(prefix="/api/v1/assets", tags=["renditions"])


def asset_prefixes(asset: Asset) -> tuple[str, ...]:
    """Every key a rendition of this asset can have (the deterministic layout)."""
    return (f"preview/{asset.type}/{asset.id}/", f"preview/video/{asset.id}/",
            f"preview/audio/{asset.id}/", f"preview/flv/{asset.id}/", f"thumbnails/{asset.id}/")


def _signature(settings: Settings, asset_id: int, user_id: int, expires: int) -> str:
    digest = hmac.new(settings.jwt_secret.encode(), f"media:{asset_id}:{user_id}:{expires}"
                      .encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def media_url(settings: Settings, asset_id: int, user_id: int, key: str) -> str:
    """A URL a ``<video>`` tag or an HLS player can fetch without headers: signed for this
    user and asset (relative HLS segment paths keep the signature), rights checked again on
    every request."""
    expires = int(time.time()) + settings.media.url_seconds
    token = f"{expires}.{user_id}.{_signature(settings, asset_id, user_id, expires)}"
    return f"/api/v1/assets/{asset_id}/media/{token}/{key}"


@router.get("/{asset_id}/renditions", response_model=RenditionList)
def list_renditions(asset_id: AssetId, user: CurrentUser, session: SessionDep, storage: StorageDep,
                    settings: SettingsDep) -> RenditionList:
    """Previews, posters, sprites, waveforms… with URLs the caller may fetch (presigned on S3)."""
    asset = assets.get_visible(session, user, asset_id)
    items = []
    for row in repository.list_for_asset(session, asset_id):
        url = storage.presigned_url(row.storage_key, content_type=row.content_type,
                                    expires=settings.media.url_seconds)
        items.append(RenditionOut(
            kind=row.kind, name=row.name, format=row.format, content_type=row.content_type,
            width=row.width, height=row.height, size=row.size, extra=row.extra or {},
            url=url or media_url(settings, asset_id, user.id, row.storage_key)))
    return RenditionList(asset_id=asset_id, media_state=asset.media_state,
                         media_error=asset.media_error, items=items)


# The picture a result grid shows, best first: a thumbnail made for it (WebP is smaller), a
# video's poster, an audio file's waveform.
THUMBNAIL_ORDER = (("thumbnail", "webp"), ("thumbnail", "jpeg"), ("poster", "jpeg"),
                   ("waveform", "png"))


@router.get("/{asset_id}/thumbnail", responses={404: {"description": "no picture (yet)"}})
def thumbnail(asset_id: AssetId, user: CurrentUser, session: SessionDep, storage: StorageDep,
              settings: SettingsDep) -> Response:
    """The asset's small picture (``thumbnail_url`` of the asset JSON): a stable URL an
    ``<img>`` can load with the session cookie and a browser can cache."""
    from sqlalchemy import select

    from openwan.models import Rendition

    assets.get_visible(session, user, asset_id)
    rows = session.execute(select(Rendition.kind, Rendition.format, Rendition.storage_key)
                           .where(Rendition.asset_id == asset_id,
                                  Rendition.kind.in_({k for k, _ in THUMBNAIL_ORDER}))).all()
    ranked = sorted(rows, key=lambda r: THUMBNAIL_ORDER.index((r.kind, r.format))
                    if (r.kind, r.format) in THUMBNAIL_ORDER else len(THUMBNAIL_ORDER))
    if not ranked:
        raise NotFound(f"asset {asset_id} has no picture yet")
    key = ranked[0].storage_key
    url = storage.presigned_url(key, expires=settings.media.url_seconds)
    if url:
        return RedirectResponse(url, status_code=307)
    path = storage.path_of(key)
    if path is None or not path.is_file():
        raise NotFound(f"asset {asset_id} has no picture yet")
    return FileResponse(path, media_type=_content_type(key), headers={
        "cache-control": "private, max-age=300", "x-content-type-options": "nosniff"})


@router.get("/{asset_id}/media/{token}/{key:path}", include_in_schema=False)
def stream_rendition(asset_id: AssetId, token: str, key: str, request: Request,
                     session: SessionDep, storage: StorageDep,
                     settings: SettingsDep) -> Response:
    """A rendition's bytes (HTTP Range) for a signed URL from the listing above."""
    expires_s, _, rest = token.partition(".")
    user_s, _, signature = rest.partition(".")
    if not (expires_s.isdigit() and user_s.isdigit()) or int(expires_s) < time.time():
        raise NotFound("this media link has expired; list the renditions again")
    expected = _signature(settings, asset_id, int(user_s), int(expires_s))
    if not hmac.compare_digest(expected, signature):
        raise NotFound("this media link is not valid")
    user = session.get(User, int(user_s))
    if user is None or not user.enabled or user.locked:
        raise NotFound("this media link is not valid")
    asset = assets.get_visible(session, user, asset_id)  # rights as of now, not of signing
    if not key.startswith(asset_prefixes(asset)) or not _valid_key(key):
        raise NotFound(f"asset {asset_id} has no such rendition")
    url = storage.presigned_url(key, expires=settings.media.url_seconds)
    if url:
        return RedirectResponse(url, status_code=307)
    path = storage.path_of(key)
    if path is None or not path.is_file():
        raise NotFound(f"asset {asset_id} has no such rendition")
    check_range(request.headers.get("range"), path.stat().st_size)
    return FileResponse(path, media_type=_content_type(key), headers={
        "cache-control": "private, max-age=3600", "x-content-type-options": "nosniff"})


def _valid_key(key: str) -> bool:
    """A key OpenWan could have made (no ``..``, ``//``, backslashes or other characters
    storage refuses)."""
    try:
        check_key(key)
    except ValueError:
        return False
    return True


def _content_type(key: str) -> str:
    suffix = key.rsplit(".", 1)[-1].lower()
    return {"mp4": "video/mp4", "m4a": "audio/mp4", "mp3": "audio/mpeg", "jpg": "image/jpeg",
            "webp": "image/webp", "png": "image/png", "vtt": "text/vtt; charset=utf-8",
            "json": "application/json", "txt": "text/plain; charset=utf-8",
            "pdf": "application/pdf", "m3u8": "application/vnd.apple.mpegurl",
            "ts": "video/mp2t", "flv": "video/x-flv"}.get(suffix, "application/octet-stream")


@router.get("/{asset_id}/processing", response_model=Processing)
def processing(asset_id: AssetId, user: CurrentUser, session: SessionDep) -> Processing:
    """The asset's media state and its latest job (stage, progress, error)."""
    asset = assets.get_visible(session, user, asset_id)
    latest = jobs.list_jobs(session, asset_id=asset_id, limit=1)
    return Processing(asset_id=asset_id, media_state=asset.media_state,
                      media_error=asset.media_error,
                      job=JobOut.model_validate(latest[0], from_attributes=True)
                      if latest else None)


@router.post("/{asset_id}/reprocess", status_code=202, response_model=Processing)
async def reprocess(asset_id: AssetId, user: CurrentUser, session: SessionDep,
                    settings: SettingsDep) -> Processing:
    """Queue the asset's processing again (administrators and the uploader)."""
    asset = assets.get_visible(session, user, asset_id)
    if not (user.is_admin or asset.uploaded_by == user.id):
        raise APIError("only an administrator or the uploader may reprocess this asset",
                       status=403, code="forbidden")
    job_id = await run_in_threadpool(jobs.reprocess, settings, asset_id)
    return Processing(asset_id=asset_id, media_state="queued", job=None) if job_id is None \
        else Processing(asset_id=asset_id, media_state="queued",
                        job=await run_in_threadpool(_job_out, settings, job_id))


def _job_out(settings: Settings, job_id: int) -> JobOut | None:
    from openwan.db import unit_of_work
    from openwan.models import Job

    with unit_of_work(settings) as session:
        job = session.get(Job, job_id)
        return JobOut.model_validate(job, from_attributes=True) if job else None
