"""Storage behind a protocol: local files by default, S3 in the cloud."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from openwan.config import Settings
from openwan.storage.base import (
    ObjectNotFound,
    Storage,
    StorageError,
    Writer,
    check_key,
    original_key,
)

__all__ = ["ObjectNotFound", "Storage", "StorageError", "Writer", "check_key", "make_storage",
           "original_key", "get_storage"]

_cache: dict[str, Storage] = {}


def make_storage(url: str, settings: Settings | None = None) -> Storage:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        from openwan.storage.local import LocalStorage

        return LocalStorage(Path(unquote(parsed.path)))
    if parsed.scheme == "s3":
        from openwan.storage.s3 import S3Storage

        opts = settings.storage if settings else None
        return S3Storage(parsed.netloc, parsed.path,
                         sse=opts.sse if opts else None,
                         kms_key_id=opts.kms_key_id if opts else None,
                         part_size=opts.part_size if opts else 16 * 1024 * 1024)
    raise ValueError(f"unsupported storage URL {url!r}: use file:///path or s3://bucket/prefix")


def get_storage(settings: Settings) -> Storage:
    url = settings.storage_url
    if url not in _cache:
        _cache[url] = make_storage(url, settings)
    return _cache[url]
