"""Documents: PDF thumbnails and page counts (poppler), office files through LibreOffice when
it is installed, and plain-text previews in UTF-8 whatever the source's encoding."""

from __future__ import annotations

import codecs
import shutil
from pathlib import Path
from typing import Any

from openwan.media.errors import PermanentError, TransientError
from openwan.media.ffmpeg import ToolError, ToolTimeout, run_process
from openwan.media.plan import Output

OFFICE_EXTENSIONS = {"doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp", "rtf"}
TEXT_EXTENSIONS = {"txt", "csv", "md", "srt", "vtt", "json", "log"}


class NoPreview(Exception):
    """A document OpenWan keeps and serves but cannot preview (not a failure)."""


def pdf_info(path: Path, *, pdfinfo: str, timeout: float) -> dict[str, Any]:
    try:
        text = run_process([pdfinfo, str(path)], cwd=path.parent, timeout=timeout)
    except ToolTimeout as exc:
        raise TransientError("probe", str(exc)) from exc
    except ToolError as exc:
        if "password" in exc.detail.lower():
            raise NoPreview("the PDF is password-protected; no preview can be made") from exc
        if "not installed" in str(exc):
            raise TransientError("probe", str(exc)) from exc
        raise PermanentError("probe", "the PDF cannot be read: the file is damaged "
                                      f"({exc.detail.splitlines()[-1] if exc.detail else exc})"
                             ) from exc
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip().lower()] = value.strip()
    info: dict[str, Any] = {"format": "pdf"}
    if fields.get("pages", "").isdigit():
        info["pages"] = int(fields["pages"])
    for key in ("title", "author", "subject", "creator", "producer", "page size"):
        if fields.get(key):
            info[key.replace(" ", "_")] = fields[key]
    info["encrypted"] = fields.get("encrypted", "no").startswith("yes")
    return info


def pdf_thumbnail(path: Path, work: Path, asset_id: int, spec: dict[str, Any], *,
                  pdftoppm: str, timeout: float) -> tuple[Output, Path]:
    try:
        run_process([pdftoppm, "-f", "1", "-l", "1", "-singlefile", "-jpeg",
                     "-jpegopt", "quality=85", "-scale-to", str(spec["max_side"]), str(path),
                     "page1"], cwd=work, timeout=timeout)
    except ToolTimeout as exc:
        raise TransientError("thumbnail", str(exc)) from exc
    except ToolError as exc:
        if "password" in exc.detail.lower():
            raise NoPreview("the PDF is password-protected; no preview can be made") from exc
        raise PermanentError("thumbnail", f"the first page cannot be rendered ({exc})") from exc
    out = work / "page1.jpg"
    from PIL import Image

    with Image.open(out) as img:
        width, height = img.size
    return Output(spec["name"], "thumbnail", out.name, f"thumbnails/{asset_id}/page1.jpg",
                  "image/jpeg", "jpeg", width, height), out


def pdf_pages(path: Path, work: Path, asset_id: int, spec: dict[str, Any], pages: int | None,
              *, pdftoppm: str, timeout: float) -> tuple[Output, Path] | None:
    """Every page (up to ``max_pages``) as ``pages/0001.jpg``…, stored as one folder: the
    rendition's URL names page 1, the others sit beside it under the same signed prefix."""
    last = min(pages or 1, spec["max_pages"])
    folder = work / "pages"
    folder.mkdir(exist_ok=True)
    try:
        run_process([pdftoppm, "-f", "1", "-l", str(last), "-jpeg", "-jpegopt",
                     f"quality={spec['quality']}", "-scale-to", str(spec["max_side"]),
                     str(path), str(folder / "p")], cwd=work, timeout=timeout)
    except ToolTimeout as exc:
        raise TransientError("pages", str(exc)) from exc
    except ToolError as exc:
        if "password" in exc.detail.lower():
            raise NoPreview("the PDF is password-protected; no preview can be made") from exc
        raise PermanentError("pages", f"the pages cannot be rendered ({exc})") from exc
    # pdftoppm pads the page number to the width of the last one: p-1.jpg or p-001.jpg.
    made = sorted(folder.glob("p-*.jpg"), key=lambda f: int(f.stem.rsplit("-", 1)[1]))
    if not made:
        return None
    for file in made:
        file.rename(folder / f"{int(file.stem.rsplit('-', 1)[1]):04d}.jpg")
    first = folder / "0001.jpg"
    from PIL import Image

    with Image.open(first) as img:
        width, height = img.size
    return Output(spec["name"], "pages", "pages/0001.jpg", f"thumbnails/{asset_id}/pages/0001.jpg",
                  "image/jpeg", "jpeg", width, height,
                  {"count": len(made), "pages": pages or len(made), "name": "{:04d}.jpg"},
                  folder=f"thumbnails/{asset_id}/pages"), first


def office_to_pdf(path: Path, work: Path, *, soffice: str, timeout: float) -> Path:
    """Convert with LibreOffice (its own profile per job, so parallel jobs do not collide)."""
    exe = shutil.which(soffice)
    if exe is None:
        raise NoPreview("LibreOffice is not installed on this worker; office documents are "
                        "stored and downloadable but have no preview")
    source = work / f"document{path.suffix}"
    if not source.exists():
        source.symlink_to(path)
    profile = (work / "lo-profile").resolve().as_uri()
    try:
        run_process([exe, f"-env:UserInstallation={profile}", "--headless", "--norestore",
                     "--convert-to", "pdf", "--outdir", str(work), str(source)],
                    cwd=work, timeout=timeout)
    except ToolTimeout as exc:
        raise TransientError("convert", str(exc)) from exc
    except ToolError as exc:
        raise PermanentError("convert", f"LibreOffice could not convert the file ({exc})") \
            from exc
    pdf = work / "document.pdf"
    if not pdf.exists():
        raise PermanentError("convert", "LibreOffice produced no PDF (damaged or "
                                        "password-protected document)")
    return pdf


def text_preview(path: Path, work: Path, asset_id: int, limit: int
                 ) -> tuple[dict[str, Any], tuple[Output, Path]]:
    """Detect the charset (GB18030, Big5, Shift-JIS, UTF-16…) and store the text as UTF-8."""
    from charset_normalizer import from_bytes

    with open(path, "rb") as f:
        raw = f.read(limit + 1)
    truncated = len(raw) > limit
    raw = raw[:limit]
    best = from_bytes(raw).best()
    if best is None:
        raise PermanentError("decode", "the text's character encoding cannot be recognised")
    encoding = best.encoding
    # Incremental decoding without the final flush: a character cut at the limit is dropped.
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    text = decoder.decode(raw, final=not truncated)
    out = work / "preview.txt"
    out.write_text(text, encoding="utf-8")
    technical = {"format": "text", "encoding": encoding, "characters": len(text),
                 "lines": text.count("\n") + (1 if text and not text.endswith("\n") else 0),
                 "language": best.language if best.language != "Unknown" else None,
                 "preview_truncated": truncated}
    return technical, (Output("text", "text", out.name,
                              f"preview/document/{asset_id}/preview.txt",
                              "text/plain; charset=utf-8", "txt"), out)
