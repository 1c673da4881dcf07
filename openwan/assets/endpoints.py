from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from openwan.access import audit, quota, rules
from openwan.access import permissions as P
from openwan.assets import service
from openwan.assets.schemas import AssetId, AssetOut, AssetPage, AssetPatch, ListQuery
from openwan.assets.upload import FormUpload
from openwan.db import unit_of_work
from openwan.deps import (
    CurrentUser,
    Require,
    SessionDep,
    SettingsDep,
    StorageDep,
    cached_asset_reader,
    cached_current_user,
    client_ip,
)
from openwan.kit.errors import Forbidden, NotFound, Unprocessable
from openwan.kit.filenames import content_disposition
from openwan.kit.ids import MAX_ID
from openwan.kit.ranges import check_range
from openwan.middleware.direct import direct
from openwan.models import Asset, User

router = APIRouter(prefix="/api/v1/assets", tags=["assets"])

TRUE = {"1", "true", "yes", "on"}
Uploader = Require(P.ASSET_UPLOAD)
# Bytes of a multipart body that are not the file (boundaries, headers, small fields).
MULTIPART_SLACK = 64 * 1024


@router.post("", status_code=201, response_model=AssetOut, responses={
    409: {"description": "the same bytes were uploaded before (unless keep_duplicate)"},
    413: {"description": "larger than the configured maximum"},
    415: {"description": "not a video, audio, image or document"}},
    openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {
        "schema": {"type": "object", "required": ["file"], "properties": {
            "file": {"type": "string", "format": "binary"},
            "title": {"type": "string"}, "category_id": {
                "type": "integer", "minimum": 1, "maximum": MAX_ID},
            "keep_duplicate": {"type": "boolean"}}}}}}})
async def upload_asset(request: Request, user: Uploader, settings: SettingsDep,
                       storage: StorageDep,
                       keep_duplicate: Annotated[bool, Query()] = False) -> Asset:
    """Upload one file (multipart/form-data), streamed to storage and hashed on the way."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit():
        # Refused before a byte is stored when even the declared size cannot fit.
        await run_in_threadpool(_check_quota, settings, user.id,
                                max(0, int(declared) - MULTIPART_SLACK))
    form = FormUpload(storage, settings)
    try:
        await form.receive(request)
        assert form.ingest is not None
        received = await form.ingest.finish()
        category_id = _int_field(form.fields.get("category_id"), "category_id")
        keep = keep_duplicate or form.fields.get("keep_duplicate", "").lower() in TRUE
        asset = await run_in_threadpool(_register, settings, received, user.id,
                                        form.fields.get("title"), category_id, keep, form,
                                        client_ip(request))
    except BaseException:
        await form.abort()
        raise
    from openwan.assets.events import asset_created

    await run_in_threadpool(asset_created, settings, asset.id)
    return asset


def _int_field(value: str | None, name: str) -> int | None:
    if value is None or value.strip() == "":
        return None
    try:
        number = int(value)
    except ValueError as exc:
        raise Unprocessable(f"{name} must be an integer", field=name) from exc
    if not 1 <= number <= MAX_ID:
        raise Unprocessable(f"{name} must be an id from 1 to {MAX_ID}", field=name)
    return number


def _check_quota(settings, user_id: int, size: int) -> None:
    with unit_of_work(settings) as session:
        quota.check(session, session.get(User, user_id), size)


def _register(settings, received, user_id, title, category_id, keep, form: FormUpload,
              ip: str | None = None) -> Asset:
    with unit_of_work(settings) as session:
        user = session.get(User, user_id)
        rules.remember_ip(user, ip)
        service.ensure_not_duplicate(session, received.sha256, keep, user)
        service.check_category_use(session, user, category_id)
        quota.check(session, user, received.size)
        # The original becomes durable before its row exists; a failure below removes it.
        form.ingest.commit()
        try:
            asset = service.register(session, received, user=user, title=title,
                                     category_id=category_id)
            session.flush()
        except BaseException:
            form.storage.delete(received.key)
            raise
    return asset


@router.get("", response_model=AssetPage)
@direct
async def list_assets(request: Request, query: Annotated[ListQuery, Query()]) -> Response:
    # Ids from the database (replica when configured) or the page cache, each item's JSON
    # from the row cache; the caller identified here (cheaper than a dependency), the route
    # dispatched directly like the detail.
    user = await cached_current_user(request)
    body = await service.list_visible_json(
        request.app.state.settings, user, page=query.page, size=query.size,
        filters={"type": query.type, "status": query.status,
                 "media_state": query.media_state, "category_id": query.category_id})
    return Response(body, media_type="application/json")


SHA256_HEX = r"^[0-9a-fA-F]{64}$"


@router.get("/duplicate")
def find_duplicate(user: Uploader, session: SessionDep,
                   sha256: Annotated[str, Query(pattern=SHA256_HEX)]) -> dict[str, Any]:
    """Whether a file with this sha256 is already in OpenWan (outside the recycle bin), asked
    by a client that hashed the file before sending it. The asset is named only when the
    caller may see it, as the upload's own 409 would; declared before ``/{asset_id}``."""
    existing = service.find_duplicate(session, sha256.lower())
    visible = existing is not None and rules.can_view(user, existing)
    return {"sha256": sha256.lower(), "duplicate": existing is not None,
            "asset_id": existing.id if visible else None,
            "title": existing.title if visible else None}


@router.get("/{asset_id}", response_model=AssetOut)
@direct
async def get_asset(asset_id: AssetId, request: Request) -> Response:
    # Hot path: async, cached caller and row, rights checked per call (no threadpool, no ORM);
    # the row's cache version comes with the caller's. The caller is identified here rather
    # than by a dependency, and the route is dispatched directly (openwan.middleware.direct):
    # FastAPI's routing and dependency solving cost as much as the rest.
    user = await cached_asset_reader(request, asset_id)
    tokens = getattr(request.state, "cache_tokens", None) or {}
    body = await service.get_visible_json(request.app.state.settings, user, asset_id,
                                          token=tokens.get(("asset", asset_id)))
    return Response(body, media_type="application/json")


@router.patch("/{asset_id}", response_model=AssetOut)
def patch_asset(asset_id: AssetId, body: AssetPatch, user: CurrentUser,
                session: SessionDep) -> Asset:
    asset = service.get_visible(session, user, asset_id)
    return service.update(session, user, asset, body.model_dump(exclude_unset=True))


@router.delete("/{asset_id}", status_code=204)
def delete_asset(asset_id: AssetId, user: CurrentUser, session: SessionDep) -> Response:
    """To the recycle bin (restorable): asset.delete, or the uploader while it is new."""
    from openwan.workflow import service as workflow

    asset = service.get_visible(session, user, asset_id)
    workflow.delete(session, user, asset)
    return Response(status_code=204)


@router.get("/{asset_id}/original", responses={
    206: {"description": "partial content (Range)"}, 416: {"description": "range not satisfiable"}})
def download_original(asset_id: AssetId, request: Request, user: CurrentUser, session: SessionDep,
                      storage: StorageDep, settings: SettingsDep) -> Response:
    """The original file, with HTTP Range; on S3 a redirect to a short-lived presigned URL."""
    asset = service.get_visible(session, user, asset_id)
    if not rules.can_download(user, asset):
        raise Forbidden(f"asset {asset_id} may not be downloaded by you",
                        code="download_not_allowed")
    _audit_download(session, user, asset, request.headers.get("range"))
    url = storage.presigned_url(asset.storage_key, filename=asset.filename,
                                content_type=asset.mime_type,
                                expires=settings.storage.presign_seconds)
    if url:
        return RedirectResponse(url, status_code=307)
    path = storage.path_of(asset.storage_key)
    if path is None or not path.is_file():
        raise NotFound(f"the original of asset {asset_id} is missing from storage")
    check_range(request.headers.get("range"), asset.size)
    return FileResponse(path, media_type=asset.mime_type, headers={
        "content-disposition": content_disposition(asset.filename),
        "etag": f'"{asset.sha256}"',
        "cache-control": "private, max-age=0",
        "x-content-type-options": "nosniff",
    })


def _audit_download(session, user: User, asset: Asset, range_header: str | None) -> None:
    # A player or a resuming client asks for many ranges of one file: the first request of a
    # download (no Range, or one starting at byte 0) is what gets recorded.
    if range_header and not range_header.replace(" ", "").startswith("bytes=0-"):
        return
    audit.record(session, "asset.download", actor=user, target=("asset", asset.id),
                 detail={"filename": asset.filename, "size": asset.size})
