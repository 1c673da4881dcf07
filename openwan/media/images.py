"""Still images with Pillow: metadata (EXIF, IPTC, XMP basics), oriented JPEG/WebP previews."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, IptcImagePlugin, UnidentifiedImageError

from openwan.media.errors import PermanentError
from openwan.media.plan import Output

_EXIF = {271: "make", 272: "model", 305: "software", 306: "datetime", 315: "artist",
         33432: "copyright", 274: "orientation"}
_EXIF_IFD = {36867: "datetime_original", 33434: "exposure_time", 33437: "f_number",
             34855: "iso", 37386: "focal_length", 42036: "lens_model"}
_IPTC = {(2, 5): "object_name", (2, 25): "keywords", (2, 80): "byline", (2, 105): "headline",
         (2, 116): "copyright", (2, 120): "caption", (2, 90): "city", (2, 101): "country"}
_XMP = {"title": r"<dc:title>(.*?)</dc:title>",
        "description": r"<dc:description>(.*?)</dc:description>",
        "creator": r"<dc:creator>(.*?)</dc:creator>", "subject": r"<dc:subject>(.*?)</dc:subject>",
        "rating": r"xmp:Rating=\"(\d+)\"", "create_date": r"xmp:CreateDate=\"([^\"]+)\""}


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        for encoding in ("utf-8", "latin-1"):
            try:
                return value.decode(encoding).strip("\x00 ")
            except UnicodeDecodeError:
                continue
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "numerator") and hasattr(value, "denominator"):
        return round(float(value), 6) if value.denominator else None
    if isinstance(value, str):
        return value.strip("\x00 ")
    return value if isinstance(value, int | float) else str(value)


def _gps(ifd: dict[int, Any]) -> dict[str, float] | None:
    try:
        def degrees(values, ref) -> float:
            d, m, s = (float(v) for v in values)
            sign = -1 if ref in ("S", "W") else 1
            return round(sign * (d + m / 60 + s / 3600), 6)

        return {"latitude": degrees(ifd[2], ifd[1]), "longitude": degrees(ifd[4], ifd[3])}
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None


def metadata(img: Image.Image) -> dict[str, Any]:
    out: dict[str, Any] = {}
    exif = img.getexif()
    found = {name: _plain(exif[tag]) for tag, name in _EXIF.items() if tag in exif}
    sub = exif.get_ifd(0x8769)
    found.update({name: _plain(sub[tag]) for tag, name in _EXIF_IFD.items() if tag in sub})
    gps = _gps(exif.get_ifd(0x8825))
    if gps:
        found["gps"] = gps
    if found:
        out["exif"] = found
    try:
        iptc = IptcImagePlugin.getiptcinfo(img) or {}
    except (SyntaxError, ValueError, IndexError):
        iptc = {}
    if iptc:
        out["iptc"] = {name: _plain(iptc[key]) for key, name in _IPTC.items() if key in iptc}
    xmp = img.info.get("xmp") or img.info.get("XML:com.adobe.xmp")
    if xmp:
        text = xmp.decode("utf-8", "replace") if isinstance(xmp, bytes) else str(xmp)
        values = {}
        for name, pattern in _XMP.items():
            match = re.search(pattern, text, re.S)
            if match:
                items = re.findall(r"<rdf:li[^>]*>(.*?)</rdf:li>", match.group(1), re.S)
                values[name] = (items if name == "subject" else items[0]) if items else \
                    match.group(1).strip()
        if values:
            out["xmp"] = values
    return out


def _bomb(size: str, max_pixels: int) -> str:
    return (f"the image is {size}, above the limit of {max_pixels / 1e6:.0f} megapixels "
            "(decompression bomb protection); no preview was made")


def process_image(src: Path, work: Path, asset_id: int, profile: dict[str, Any], *,
                  max_pixels: int) -> tuple[dict[str, Any], list[tuple[Output, Path]]]:
    """Technical facts and the preview files of one image (refusing decompression bombs)."""
    try:
        img = Image.open(src)
    except Image.DecompressionBombError as exc:
        # Pillow refuses past twice its own limit before we see the size; same message.
        found = re.search(r"\((\d+) pixels\)", str(exc))
        pixels = int(found.group(1)) if found else 0
        raise PermanentError("decode", _bomb(f"{pixels / 1e6:.0f} megapixels", max_pixels)) \
            from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise PermanentError("decode", "the image cannot be read: the file is damaged or "
                                       "its format is not supported") from exc
    with img:
        width, height = img.size
        if width * height > max_pixels:
            raise PermanentError("decode", _bomb(
                f"{width}×{height} pixels ({width * height / 1e6:.0f} megapixels)", max_pixels))
        technical: dict[str, Any] = {"width": width, "height": height, "format": img.format,
                                     "mode": img.mode,
                                     "frames": getattr(img, "n_frames", 1)}
        if img.info.get("dpi"):
            technical["dpi"] = [round(float(d), 2) for d in img.info["dpi"]]
        try:
            technical.update(metadata(img))
            largest = max(r["max_side"] for r in profile["renditions"])
            if img.format == "JPEG":
                img.draft("RGB", (largest, largest))  # decode at a reduced scale: much faster
            img.load()
            oriented = ImageOps.exif_transpose(img)
        except (OSError, ValueError, SyntaxError) as exc:
            raise PermanentError("decode", f"the image cannot be decoded: {exc}") from exc
    if technical.get("exif", {}).get("orientation") in (5, 6, 7, 8):
        technical["width"], technical["height"] = height, width  # as displayed
    has_alpha = oriented.mode in ("RGBA", "LA", "PA") or "transparency" in oriented.info
    rgba = oriented.convert("RGBA" if has_alpha else "RGB")
    outputs = []
    for spec in profile["renditions"]:
        copy = rgba.copy()
        copy.thumbnail((spec["max_side"], spec["max_side"]), Image.Resampling.LANCZOS)
        prefix = (f"thumbnails/{asset_id}" if spec["kind"] == "thumbnail"
                  else f"preview/image/{asset_id}")
        for fmt in profile["formats"]:
            image = copy
            if fmt["format"] == "jpeg" and image.mode == "RGBA":
                flat = Image.new("RGB", image.size, (255, 255, 255))
                flat.paste(image, mask=image.getchannel("A"))
                image = flat
            name = f"{spec['name']}.{fmt['ext']}"
            image.save(work / name, fmt["format"].upper(), quality=fmt["quality"])
            outputs.append((Output(f"{spec['name']}-{fmt['format']}", spec["kind"], name,
                                   f"{prefix}/{spec['name']}.{fmt['ext']}", fmt["content_type"],
                                   fmt["format"], image.width, image.height), work / name))
    return technical, outputs
