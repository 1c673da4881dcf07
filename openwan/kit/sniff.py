"""Decide what a file is from its first bytes; the extension is only a hint."""

from __future__ import annotations

from dataclasses import dataclass

HEAD_SIZE = 8192


@dataclass(frozen=True)
class Sniffed:
    kind: str  # video | audio | image | document
    mime: str
    extension: str


class Refused(ValueError):
    """Content that OpenWan does not accept (executables, unknown binaries)."""


_VIDEO_EXT = {"mp4", "m4v", "mov", "mkv", "webm", "avi", "flv", "ts", "mts", "m2ts", "mpg",
              "mpeg", "vob", "wmv", "asf", "3gp", "3g2", "mxf", "ogv"}
_AUDIO_EXT = {"mp3", "m4a", "aac", "wav", "flac", "ogg", "oga", "opus", "wma", "aif", "aiff"}


def sniff(head: bytes, hint: str = "") -> Sniffed:
    """Classify ``head`` (the first bytes, ideally ``HEAD_SIZE``) or raise ``Refused``."""
    hint = hint.lower()
    if not head:
        raise Refused("the file is empty")
    for check in (_refused, _image, _video_audio, _document, _text):
        found = check(head, hint)
        if found:
            return found
    raise Refused("unrecognised content: not a video, audio, image or document format "
                  "that OpenWan accepts")


_EXECUTABLES = (b"MZ", b"\x7fELF", b"\xca\xfe\xba\xbe", b"\xfe\xed\xfa", b"\xcf\xfa\xed\xfe",
                b"\xce\xfa\xed\xfe", b"#!")


def _refused(head: bytes, hint: str) -> Sniffed | None:
    if head.startswith(_EXECUTABLES):
        raise Refused("executable content is not accepted (whatever its extension says)")
    return None


def _image(head: bytes, hint: str) -> Sniffed | None:
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("image", "image/jpeg", "jpg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image", "image/png", "png")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Sniffed("image", "image/gif", "gif")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed("image", "image/webp", "webp")
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return Sniffed("image", "image/tiff", "tif")
    if head[:2] == b"BM" and len(head) > 14 and head[6:10] == b"\x00\x00\x00\x00":
        return Sniffed("image", "image/bmp", "bmp")
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"avif"):
        if head[8:12] == b"avif":
            return Sniffed("image", "image/avif", "avif")
        return Sniffed("image", "image/heic", "heic")
    if head.startswith(b"8BPS"):
        return Sniffed("image", "image/vnd.adobe.photoshop", "psd")
    return None


def _video_audio(head: bytes, hint: str) -> Sniffed | None:
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"M4A ", b"M4B ", b"M4P ", b"F4A "):
            return Sniffed("audio", "audio/mp4", "m4a")
        if brand == b"qt  ":
            return Sniffed("video", "video/quicktime", "mov")
        if brand.startswith(b"3g"):
            return Sniffed("video", "video/3gpp", "3gp")
        if hint in _AUDIO_EXT:
            return Sniffed("audio", "audio/mp4", "m4a")
        return Sniffed("video", "video/mp4", "mp4")
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"):
        return Sniffed("video", "video/quicktime", "mov")
    if head.startswith(b"\x1aE\xdf\xa3"):
        if b"webm" in head[:64]:
            return Sniffed("video", "video/webm", "webm")
        if hint == "mka":
            return Sniffed("audio", "audio/x-matroska", "mka")
        return Sniffed("video", "video/x-matroska", "mkv")
    if head[:4] == b"RIFF":
        if head[8:12] == b"AVI ":
            return Sniffed("video", "video/x-msvideo", "avi")
        if head[8:12] == b"WAVE":
            return Sniffed("audio", "audio/wav", "wav")
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return Sniffed("audio", "audio/aiff", "aiff")
    if head.startswith(b"FLV\x01"):
        return Sniffed("video", "video/x-flv", "flv")
    if head.startswith(b"\x00\x00\x01\xba") or head.startswith(b"\x00\x00\x01\xb3"):
        return Sniffed("video", "video/mpeg", "mpg")
    if len(head) >= 377 and head[0] == 0x47 and head[188] == 0x47 and head[376] == 0x47:
        return Sniffed("video", "video/mp2t", "ts")
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        if hint in ("wma",):
            return Sniffed("audio", "audio/x-ms-wma", "wma")
        return Sniffed("video", "video/x-ms-wmv", "wmv")
    if head.startswith(b"\x06\x0e\x2b\x34"):
        return Sniffed("video", "application/mxf", "mxf")
    if head.startswith(b"OggS"):
        if b"theora" in head[:128] or hint == "ogv":
            return Sniffed("video", "video/ogg", "ogv")
        if b"OpusHead" in head[:128]:
            return Sniffed("audio", "audio/ogg", "opus")
        return Sniffed("audio", "audio/ogg", "ogg")
    if head.startswith(b"fLaC"):
        return Sniffed("audio", "audio/flac", "flac")
    if head.startswith(b"ID3"):
        return Sniffed("audio", "audio/mpeg", "mp3")
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        # MPEG audio frame sync (0xFFF…) or ADTS AAC (0xFFF1/0xFFF9).
        if head[1] & 0xF6 == 0xF0:
            return Sniffed("audio", "audio/aac", "aac")
        return Sniffed("audio", "audio/mpeg", "mp3")
    return None


_OFFICE = {
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", b"word/"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"xl/"),
    "pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", b"ppt/"),
}
_ODF = {
    b"application/vnd.oasis.opendocument.text": "odt",
    b"application/vnd.oasis.opendocument.spreadsheet": "ods",
    b"application/vnd.oasis.opendocument.presentation": "odp",
}
_OLE = {"doc": "application/msword", "xls": "application/vnd.ms-excel",
        "ppt": "application/vnd.ms-powerpoint"}


def _document(head: bytes, hint: str) -> Sniffed | None:
    if head.startswith(b"%PDF-"):
        return Sniffed("document", "application/pdf", "pdf")
    if head.startswith(b"PK\x03\x04"):
        for mime, ext in _ODF.items():
            if mime in head[:256]:
                return Sniffed("document", mime.decode(), ext)
        for ext, (mime, marker) in _OFFICE.items():
            if marker in head or hint == ext:
                return Sniffed("document", mime, ext)
        if b"[Content_Types].xml" in head and hint in _OFFICE:
            return Sniffed("document", _OFFICE[hint][0], hint)
        raise Refused("a zip archive that is not an office document is not accepted")
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        ext = hint if hint in _OLE else "doc"
        return Sniffed("document", _OLE[ext], ext)
    if head.startswith(b"{\\rtf"):
        return Sniffed("document", "application/rtf", "rtf")
    return None


def _text(head: bytes, hint: str) -> Sniffed | None:
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None
    sample = head[:HEAD_SIZE]
    lowered = sample[:512].lstrip().lower()
    markup = (b"<!doctype html", b"<html", b"<svg", b"<?xml")
    if lowered.startswith(markup) or b"<script" in lowered:
        # Markup that a browser would execute is not accepted as a document.
        raise Refused("HTML, SVG and XML markup are not accepted as documents")
    from charset_normalizer import from_bytes

    # A multi-byte character may be cut at the end of the sample; judge the rest.
    best = from_bytes(sample).best()
    if best is None:
        return None
    decoded = str(best)
    controls = sum(1 for c in decoded if ord(c) < 32 and c not in "\t\n\r\f")
    if controls > len(decoded) // 100:
        return None
    ext = hint if hint in ("txt", "csv", "md", "srt", "vtt", "json", "log") else "txt"
    mime = {"csv": "text/csv", "md": "text/markdown", "json": "application/json",
            "vtt": "text/vtt"}.get(ext, "text/plain")
    return Sniffed("document", mime, ext)
