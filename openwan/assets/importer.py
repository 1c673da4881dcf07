"""Importing files from disk (``openwan ingest``) through the same service code as uploads."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from openwan.assets import service
from openwan.assets.events import asset_created
from openwan.assets.ingest import Received, classify, hash_file, read_head
from openwan.config import Settings
from openwan.db import unit_of_work
from openwan.kit.errors import APIError
from openwan.kit.filenames import clean_filename
from openwan.models import User
from openwan.storage import get_storage, original_key


@dataclass(frozen=True)
class Outcome:
    path: Path
    status: str  # "imported" | "duplicate" | "refused"
    asset_id: int | None = None
    message: str = ""


def walk(paths: list[Path], recursive: bool) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            pattern = path.rglob("*") if recursive else path.glob("*")
            yield from sorted(p for p in pattern if p.is_file() and not p.name.startswith("."))
        elif path.is_file():
            yield path


def import_file(settings: Settings, path: Path, *, user_id: int, category_id: int | None = None,
                progress: Callable[[int], None] | None = None) -> Outcome:
    """Import one file; a file whose bytes are already in OpenWan is skipped, so a second run
    after an interruption picks up where the first stopped."""
    storage = get_storage(settings)
    filename = clean_filename(path.name)
    try:
        sniffed = classify(read_head(path), filename)
    except APIError as exc:
        return Outcome(path, "refused", message=exc.message)
    size = path.stat().st_size
    if size > settings.upload.max_size:
        return Outcome(path, "refused", message="larger than the maximum upload size")
    sha256 = hash_file(path).hexdigest()
    if progress:
        progress(size)
    with unit_of_work(settings) as session:
        existing = service.find_duplicate(session, sha256)
        if existing is not None:
            return Outcome(path, "duplicate", existing.id)
        service.check_category(session, category_id)
        user = session.get(User, user_id)
        key = original_key(sniffed.kind, sniffed.extension)
        storage.put_file(key, path, sniffed.mime)
        try:
            asset = service.register(session, Received(key, size, sha256, sniffed, filename),
                                     user=user, category_id=category_id)
            session.flush()
        except BaseException:
            storage.delete(key)
            raise
        asset_id = asset.id
    asset_created(settings, asset_id)
    return Outcome(path, "imported", asset_id)
