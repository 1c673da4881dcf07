"""Client-supplied names are kept for display only; they never become paths."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

_MAX_NAME = 255
# Control characters, bidi overrides/isolates (the "RTL trick" that disguises extensions),
# and the separators and reserved characters of POSIX and Windows file systems.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069/\\:*?\"<>|]")


def clean_filename(name: str | None, fallback: str = "file") -> str:
    """A display name: no directories, no control or bidi characters, at most 255 characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip(" .")
    if not name or set(name) <= {"_", "."}:
        name = fallback
    if len(name) > _MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 16:
            name = stem[: _MAX_NAME - len(ext) - 1] + "." + ext
        else:
            name = name[:_MAX_NAME]
    return name


def extension_of(name: str) -> str:
    _, dot, ext = name.rpartition(".")
    ext = ext.lower()
    return ext if dot and ext.isalnum() and len(ext) <= 16 else ""


def content_disposition(name: str, disposition: str = "attachment") -> str:
    """RFC 6266 header value: an ASCII fallback plus the UTF-8 name."""
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
