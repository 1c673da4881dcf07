"""The named jobs of the media pipeline. Idempotent: reload by id, return quietly if the asset
is gone, write outputs to deterministic keys, record them only once stored."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openwan.assets.events import asset_changed
from openwan.config import Settings
from openwan.db import unit_of_work
from openwan.kit.sweep import SAFE_AGE, hold_dir, sweep
from openwan.media import documents, executor, repository
from openwan.media.documents import NoPreview
from openwan.media.errors import PermanentError, TransientError
from openwan.media.executor import Produced, Runner
from openwan.media.ffmpeg import ToolError, ToolTimeout, is_url, probe, redact
from openwan.media.images import process_image
from openwan.media.plan import NothingToDo, plan_audio, plan_video
from openwan.media.profiles import profiles
from openwan.media.service import PROCESS, mark_done
from openwan.media.technical import media_info, technical
from openwan.models import Asset, MediaState
from openwan.storage import ObjectNotFound, Storage, StorageError, get_storage

log = logging.getLogger("openwan.media")


@dataclass
class JobContext:
    """A running job as its handler sees it; the worker's heartbeat reads stage and progress."""

    settings: Settings
    job_id: int
    cancel: threading.Event = field(default_factory=threading.Event)
    stage: str = "start"
    progress: float = 0.0

    def set_stage(self, stage: str) -> None:
        self.stage = stage

    def report(self, fraction: float) -> None:
        self.progress = fraction

    def runner(self) -> Runner:
        media = self.settings.media
        return Runner(ffmpeg=media.ffmpeg, timeout=media.timeout_seconds, nice=media.nice,
                      set_stage=self.set_stage, report=self.report, cancel=self.cancel)


@dataclass(frozen=True)
class RemoteOriginal:
    """An original FFmpeg reads where it is stored, through short-lived signed URLs, so a
    50 GiB master never has to fit on the worker's disk."""

    storage: Storage
    key: str
    size: int

    def url(self, seconds: float) -> str:
        """A URL valid for ``seconds`` (as long as the tool given it may run)."""
        url = self.storage.presigned_url(self.key, expires=int(min(max(seconds, 60), 604800)))
        if url is None:  # pragma: no cover - only remote storage makes RemoteOriginal
            raise StorageError("the storage gives no URLs")
        return url


# Types FFmpeg reads straight from storage; images and documents are read from a local copy.
STREAMED = {"video", "audio"}


@contextmanager
def _original(settings: Settings, storage: Storage, key: str,
              kind: str) -> Iterator[Path | RemoteOriginal]:
    # Local storage gives no URLs (None): FFmpeg reads the file where it is.
    if (kind in STREAMED and settings.media.read_originals_by_url
            and storage.presigned_url(key, expires=60) is not None):
        yield RemoteOriginal(storage, key, storage.size(key))
        return
    with storage.local_file(key) as path:
        yield path


@dataclass
class Result:
    technical: dict[str, Any]
    produced: Produced
    no_preview: str | None = None


def process_media(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Make every rendition of the asset and its technical metadata; then mark it ready."""
    settings = ctx.settings
    asset_id = int(payload["asset_id"])
    with unit_of_work(settings) as session:
        asset = session.get(Asset, asset_id)
        if asset is None:
            return  # deleted meanwhile: nothing to do
        kind, key, extension = asset.type, asset.storage_key, asset.extension
        recorded = {r.storage_key for r in repository.list_for_asset(session, asset_id)}
    storage = get_storage(settings)
    work_root = settings.data_dir / "work"
    work_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{WORK_PREFIX}{ctx.job_id}-", dir=work_root))
    held = hold_dir(work)  # a crash leaves the folder; sweep_work takes it once unheld
    try:
        ctx.set_stage("fetch")
        try:
            with _original(settings, storage, key, kind) as src:
                size = src.size if isinstance(src, RemoteOriginal) else src.stat().st_size
                if size == 0:
                    raise PermanentError("probe", "the file is empty (0 bytes)")
                published: list[str] = []

                def publish(outputs: Produced) -> None:
                    _publish_early(settings, storage, asset_id, outputs, recorded, ctx)
                    published.extend(o.name for o, _ in outputs)

                result = PROCESSORS[kind](ctx, src, work, asset_id, extension, publish)
        except ObjectNotFound as exc:
            raise PermanentError("fetch", "the original is missing from storage") from exc
        except StorageError as exc:
            raise TransientError("fetch", f"the original cannot be read: {exc}") from exc
        ctx.set_stage("store")
        sizes = executor.store(storage, result.produced, recorded=recorded, cancel=ctx.cancel)
        with unit_of_work(settings) as session:
            asset = session.get(Asset, asset_id)
            if asset is None:
                return
            for output, _ in result.produced:
                repository.record(session, asset_id, output, sizes[output.name])
            keep = {o.name for o, _ in result.produced} | set(published)
            stale = repository.remove_others(session, asset_id, keep)
            tech = dict(result.technical)
            if result.no_preview:
                tech["no_preview"] = result.no_preview
            asset.technical = tech
            asset.media_state = MediaState.ready
            asset.media_error = None
            session.flush()
            # Duration, codec and resolution are searchable: the index follows in this
            # transaction.
            asset_changed(session, asset)
            mark_done(session, ctx.job_id)
        for row in stale:
            if row.storage_key not in {o.key for o, _ in result.produced}:
                _delete_quietly(storage, row.storage_key)
                if row.kind in ("hls", "pages"):  # files that share a folder
                    _delete_quietly(storage, row.storage_key.rsplit("/", 1)[0] + "/",
                                    prefix=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        os.close(held)


WORK_PREFIX = "job-"


def sweep_work(settings: Settings, older_than: float = SAFE_AGE) -> list[str]:
    """Remove the work folders of jobs whose worker died (none in use is touched)."""
    return sweep(settings.data_dir / "work", prefix=WORK_PREFIX, older_than=older_than)


def _publish_early(settings, storage, asset_id: int, outputs: Produced, recorded: set[str],
                   ctx: JobContext) -> None:
    sizes = executor.store(storage, outputs, recorded=recorded, cancel=ctx.cancel)
    with unit_of_work(settings) as session:
        if session.get(Asset, asset_id) is None:
            return
        for output, _ in outputs:
            repository.record(session, asset_id, output, sizes[output.name])


def _delete_quietly(storage, key: str, *, prefix: bool = False) -> None:
    try:
        storage.delete_prefix(key) if prefix else storage.delete(key)
    except (StorageError, OSError) as exc:
        log.warning("could not delete the stale rendition %s: %s", key, exc)


# -- per type ---------------------------------------------------------------------------------
def _probe(ctx: JobContext, src: Path | RemoteOriginal, work: Path):
    ctx.set_stage("probe")
    timeout = min(600, ctx.settings.media.timeout_seconds)
    source = src.url(timeout) if isinstance(src, RemoteOriginal) else src
    try:
        data = probe(source, ffprobe=ctx.settings.media.ffprobe, timeout=timeout, cwd=work)
    except ToolTimeout as exc:
        raise TransientError("probe", str(exc)) from exc
    except ToolError as exc:
        if "not installed" in str(exc):
            raise TransientError("probe", str(exc)) from exc
        detail = exc.detail.splitlines()[-1] if exc.detail else str(exc)
        if is_url(source) and any(s in exc.detail for s in executor.NETWORK_ERRORS):
            raise TransientError("probe", "the original could not be read from storage "
                                          f"({redact(detail, source)[:300]})") from None
        raise PermanentError("probe", f"not a readable media file; it may be damaged or "
                                      f"truncated ({detail[:300]})") from exc
    info = media_info(data)
    if info.video is None and info.audio is None:
        raise PermanentError("probe", "the file has no video or audio stream")
    return info


def _run_planned(ctx: JobContext, src: Path | RemoteOriginal, work: Path, asset_id: int,
                 planner, publish: Callable[[Produced], None]) -> Result:
    """Probe, plan with ``planner`` from the profiles, run the plan: video and audio alike."""
    info = _probe(ctx, src, work)
    media = ctx.settings.media
    try:
        plan = planner(info, profiles(hls=media.hls, flv=media.flv), asset_id,
                       threads=media.threads)
    except NothingToDo as exc:
        raise PermanentError("plan", str(exc)) from exc
    if isinstance(src, RemoteOriginal):
        produced = executor.run_plan(ctx.runner(), plan, work, info.duration, publish,
                                     source=src.url)
    else:
        _link_input(src, work)
        produced = executor.run_plan(ctx.runner(), plan, work, info.duration, publish)
    tech = technical(info)
    if plan.notes:
        tech["notes"] = list(plan.notes)
    return Result(tech, produced)


def _video(ctx: JobContext, src: Path | RemoteOriginal, work: Path, asset_id: int, extension: str,
           publish: Callable[[Produced], None]) -> Result:
    return _run_planned(ctx, src, work, asset_id, plan_video, publish)


def _audio(ctx: JobContext, src: Path | RemoteOriginal, work: Path, asset_id: int, extension: str,
           publish: Callable[[Produced], None]) -> Result:
    return _run_planned(ctx, src, work, asset_id, plan_audio, publish)


def _image(ctx: JobContext, src: Path, work: Path, asset_id: int, extension: str,
           publish: Callable[[Produced], None]) -> Result:
    ctx.set_stage("image")
    tech, produced = process_image(src, work, asset_id, profiles()["image"],
                                   max_pixels=ctx.settings.media.max_image_pixels)
    return Result(tech, produced)


def _document(ctx: JobContext, src: Path, work: Path, asset_id: int, extension: str,
              publish: Callable[[Produced], None]) -> Result:
    media = ctx.settings.media
    spec = profiles()["document"]
    pdfinfo = str(Path(media.pdftoppm).with_name("pdfinfo")) if "/" in media.pdftoppm \
        else "pdfinfo"
    tech: dict[str, Any] = {"format": extension or "unknown"}
    produced: Produced = []
    try:
        if extension in documents.TEXT_EXTENSIONS:
            ctx.set_stage("text")
            text_tech, output = documents.text_preview(src, work, asset_id,
                                                       spec["text_preview_bytes"])
            tech.update(text_tech)
            produced.append(output)
            return Result(tech, produced)
        pdf = src
        if extension != "pdf":
            if extension not in documents.OFFICE_EXTENSIONS:
                raise NoPreview(f"no preview for .{extension} documents")
            ctx.set_stage("convert")
            pdf = documents.office_to_pdf(src, work, soffice=media.libreoffice,
                                          timeout=spec["office_timeout"])
            from openwan.media.plan import Output

            produced.append((Output("pdf", "pdf", pdf.name,
                                    f"preview/document/{asset_id}/document.pdf",
                                    "application/pdf", "pdf"), pdf))
        ctx.set_stage("probe")
        tech.update(documents.pdf_info(pdf, pdfinfo=pdfinfo, timeout=120))
        if extension != "pdf":
            tech["format"] = extension
        ctx.set_stage("thumbnail")
        produced.append(documents.pdf_thumbnail(pdf, work, asset_id, spec["thumbnail"],
                                                pdftoppm=media.pdftoppm, timeout=300))
        ctx.set_stage("pages")
        pages = documents.pdf_pages(pdf, work, asset_id, spec["pages"], tech.get("pages"),
                                    pdftoppm=media.pdftoppm, timeout=600)
        if pages is not None:
            produced.append(pages)
    except NoPreview as exc:
        tech.setdefault("encrypted", "password" in str(exc) or None)
        if tech["encrypted"] is None:
            del tech["encrypted"]
        return Result(tech, produced, no_preview=str(exc))
    return Result(tech, produced)


def _link_input(src: Path, work: Path) -> None:
    (work / "input").symlink_to(src.resolve())


PROCESSORS = {"video": _video, "audio": _audio, "image": _image, "document": _document}

# The named jobs a worker runs; the message's "name" picks one.
HANDLERS: dict[str, Callable[[JobContext, dict[str, Any]], None]] = {PROCESS: process_media}
