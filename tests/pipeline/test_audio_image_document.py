"""Audio, images and documents: previews, metadata and the inputs that go wrong."""

from __future__ import annotations

import io
import json
import struct
import zlib

import pytest
from PIL import Image

from tests.media import ffmpeg, jpeg_bytes, make_audio
from tests.pipeline.conftest import add_asset, asset_row, drain, ffprobe, renditions, stored


def test_audio_gets_preview_waveform_and_peaks(settings, owner, tmp_path):
    src = tmp_path / "tone.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=330:duration=2", "-ac", "2", str(src))
    asset_id = add_asset(settings, owner, src)
    drain(settings)
    asset = asset_row(settings, asset_id)
    assert asset.media_state == "ready", asset.media_error
    assert asset.technical["audio_codec"] == "pcm_s16le" and asset.technical["audio_channels"] == 2
    assert "width" not in asset.technical
    rows = renditions(settings, asset_id)
    preview = ffprobe(stored(settings, rows["preview"].storage_key))
    assert preview["streams"][0]["codec_name"] == "aac"
    with Image.open(stored(settings, rows["waveform"].storage_key)) as img:
        assert img.size == (1800, 280)
    peaks = json.loads(stored(settings, rows["peaks"].storage_key).read_text())["peaks"]
    assert len(peaks) == 1000 and 0.05 < max(peaks) <= 1.0


def test_mp3_is_copied_not_reencoded(settings, owner, tmp_path):
    src = make_audio(tmp_path / "song.mp3", seconds=2)
    asset_id = add_asset(settings, owner, src)
    drain(settings)
    rows = renditions(settings, asset_id)
    assert rows["preview"].storage_key.endswith("/preview.mp3")
    assert rows["preview"].extra["copied"] is True


def _exif_jpeg(path, size=(400, 200), orientation=6):
    img = Image.new("RGB", size, (200, 40, 40))
    exif = Image.Exif()
    exif[274] = orientation
    exif[271] = "OpenWan Camera"
    exif[272] = "Model 1"
    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description>'
           b'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">\xe5\x9f\x8e\xe5\xb8\x82'
           b'\xe5\xa4\x9c\xe6\x99\xaf</rdf:li></rdf:Alt></dc:title>'
           b'<dc:subject><rdf:Bag><rdf:li>night</rdf:li><rdf:li>city</rdf:li></rdf:Bag>'
           b'</dc:subject></rdf:Description></rdf:RDF></x:xmpmeta>')
    img.save(path, "JPEG", exif=exif.tobytes(), xmp=xmp)
    return path


def test_image_previews_are_oriented_with_metadata(settings, owner, tmp_path):
    asset_id = add_asset(settings, owner, _exif_jpeg(tmp_path / "photo.jpg"))
    drain(settings)
    asset = asset_row(settings, asset_id)
    assert asset.media_state == "ready", asset.media_error
    tech = asset.technical
    assert tech["exif"]["make"] == "OpenWan Camera" and tech["exif"]["orientation"] == 6
    assert (tech["width"], tech["height"]) == (200, 400)  # as displayed
    assert tech["xmp"] == {"title": "城市夜景", "subject": ["night", "city"]}
    rows = renditions(settings, asset_id)
    assert {"thumbnail-jpeg", "thumbnail-webp", "preview-jpeg", "preview-webp"} == set(rows)
    with Image.open(stored(settings, rows["thumbnail-webp"].storage_key)) as img:
        assert img.format == "WEBP" and img.size == (160, 320)  # turned upright
    with Image.open(stored(settings, rows["preview-jpeg"].storage_key)) as img:
        assert img.size == (200, 400)  # never upscaled


def test_one_pixel_image(settings, owner, tmp_path):
    path = tmp_path / "dot.png"
    Image.new("RGBA", (1, 1), (0, 0, 0, 0)).save(path)
    asset_id = add_asset(settings, owner, path)
    drain(settings)
    assert asset_row(settings, asset_id).media_state == "ready"
    assert renditions(settings, asset_id)["thumbnail-jpeg"].width == 1


def _png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that claims enormous dimensions (a decompression bomb's header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + chunk(b"IEND", b""))


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_decompression_bomb_is_refused(settings, owner, tmp_path):
    # Just above the limit (Pillow would only warn) and far above it (Pillow refuses to open).
    for width, expected in ((10_000, "10000×10000 pixels (100 megapixels)"),
                            (50_000, "2500 megapixels")):
        path = tmp_path / f"bomb{width}.png"
        path.write_bytes(_png_header_only(width, width))
        asset_id = add_asset(settings, owner, path)
        drain(settings)
        asset = asset_row(settings, asset_id)
        assert asset.media_state == "failed"
        assert asset.media_error.startswith("decode: the image is " + expected)
        assert "decompression bomb protection" in asset.media_error
        assert renditions(settings, asset_id) == {}


def _pdf(path, pages=2, password=None):
    buffer = io.BytesIO()
    images = [Image.new("RGB", (300, 400), (255, 255, 255)) for _ in range(pages)]
    images[0].save(buffer, "PDF", save_all=True, append_images=images[1:])
    if password is None:
        path.write_bytes(buffer.getvalue())
        return path
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(buffer.getvalue())))
    writer.encrypt(user_password=password, owner_password=password + "-owner",
                   algorithm="RC4-128")
    with open(path, "wb") as f:
        writer.write(f)
    return path


def test_pdf_thumbnail_and_page_count(settings, owner, tmp_path):
    asset_id = add_asset(settings, owner, _pdf(tmp_path / "report.pdf", pages=3))
    drain(settings)
    asset = asset_row(settings, asset_id)
    assert asset.media_state == "ready", asset.media_error
    assert asset.technical["pages"] == 3 and asset.technical["encrypted"] is False
    thumb = renditions(settings, asset_id)["thumbnail"]
    assert thumb.storage_key == f"thumbnails/{asset_id}/page1.jpg" and thumb.height == 640
    # Every page, for reading in the browser: one folder beside the first page's key.
    pages = renditions(settings, asset_id)["pages"]
    assert pages.storage_key == f"thumbnails/{asset_id}/pages/0001.jpg"
    assert pages.extra["count"] == 3 and pages.height == 1400
    for n in (1, 2, 3):
        with Image.open(stored(settings, f"thumbnails/{asset_id}/pages/{n:04d}.jpg")) as img:
            assert img.size == (1050, 1400)


def test_encrypted_pdf_has_a_clear_no_preview_state(settings, owner, tmp_path):
    asset_id = add_asset(settings, owner, _pdf(tmp_path / "secret.pdf", password="s3cret"))
    drain(settings)
    asset = asset_row(settings, asset_id)
    assert asset.media_state == "ready"  # stored and downloadable; not a processing failure
    assert "password-protected" in asset.technical["no_preview"]
    assert asset.technical["encrypted"] is True
    assert renditions(settings, asset_id) == {}


def test_office_document_without_libreoffice(make_settings, database_url, tmp_path):
    from openwan import migrate
    from openwan.access import service
    from openwan.db import dispose_engines, unit_of_work

    settings = make_settings(OPENWAN_DATABASE_URL=database_url,
                             OPENWAN_LIBREOFFICE="openwan-no-such-office")
    migrate.upgrade(settings.database_url)
    with unit_of_work(settings) as session:
        user = service.create_user(session, "editor", "Correct-Horse-Battery-9", is_admin=True)
    path = tmp_path / "minutes.docx"
    import zipfile

    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    try:
        asset_id = add_asset(settings, user, path)
        drain(settings)
        asset = asset_row(settings, asset_id)
        assert asset.media_state == "ready"
        assert "LibreOffice is not installed" in asset.technical["no_preview"]
    finally:
        dispose_engines()


def test_gb18030_text_preview(settings, owner, tmp_path):
    text = ("城市夜景延时摄影，记录了一座城市从黄昏到深夜的灯光变化。\n"
            "编目员请补充题名、主题词和分类名。\n") * 20
    path = tmp_path / "notes.txt"
    path.write_bytes(text.encode("gb18030"))
    asset_id = add_asset(settings, owner, path)
    drain(settings)
    asset = asset_row(settings, asset_id)
    assert asset.media_state == "ready", asset.media_error
    assert asset.technical["encoding"].lower().replace("_", "") in ("gb18030", "gbk", "gb2312")
    preview = renditions(settings, asset_id)["text"]
    assert stored(settings, preview.storage_key).read_text(encoding="utf-8") == text


def test_small_jpeg_ok(settings, owner, tmp_path):
    path = tmp_path / "small.jpg"
    path.write_bytes(jpeg_bytes())
    asset_id = add_asset(settings, owner, path)
    drain(settings)
    assert asset_row(settings, asset_id).technical["format"] == "JPEG"
